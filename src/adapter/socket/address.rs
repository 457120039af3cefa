//! Where a black-box target lives: its URL, checked against the loopback-only policy and
//! resolved once to the socket addresses every connection goes to.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use http::uri::{PathAndQuery, Scheme};
use http::Uri;

/// A target's URL and the addresses it resolved to.
///
/// Invariant: `addrs` is not empty, and unless remote targets were allowed every address in
/// it is a loopback address (127.0.0.0/8, `::1`, or an IPv4-mapped loopback), whatever the
/// URL said: connections only ever go to these addresses, never to a request's own authority.
#[derive(Debug, Clone)]
pub(super) struct Address {
    /// The URL as given (absolute, `http`).
    pub uri: Uri,
    /// The request target every request is sent with (origin-form, `/mcp`).
    pub path: PathAndQuery,
    /// Where to connect, tried in order.
    pub addrs: Vec<SocketAddr>,
}

/// Why a URL cannot be a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The URL does not parse as a URI.
    #[error("{url:?} is not a URL: {reason}")]
    Malformed {
        /// The URL as given.
        url: String,
        /// What the URI parser objected to.
        reason: String,
    },
    /// The URL's scheme is not `http` (`https` included).
    #[error("{url:?}: only http:// targets are supported")]
    Scheme {
        /// The URL as given.
        url: String,
    },
    /// The URL has no host, or an empty one.
    #[error("{url:?} names no host")]
    NoHost {
        /// The URL as given.
        url: String,
    },
    /// Remote targets are not allowed, and the host is neither `localhost` nor a loopback IP.
    #[error(
        "{host} is not a loopback address: black-box targets must be on 127.0.0.0/8, ::1 or \
         localhost unless remote targets are allowed explicitly"
    )]
    Remote {
        /// The host as the URL wrote it.
        host: String,
    },
    /// The system resolver failed on the host, or gave no address.
    #[error("cannot resolve {host}: {reason}")]
    Unresolved {
        /// The host as the URL wrote it.
        host: String,
        /// The resolver's error, or "no address".
        reason: String,
    },
}

impl Address {
    /// Parses `url` and resolves its host: `localhost` to 127.0.0.1 and ::1 without asking
    /// DNS, an IP literal to itself, any other name through the system resolver, and only
    /// when `allow_remote` (a name could resolve anywhere).
    pub(super) fn parse(url: &str, allow_remote: bool) -> Result<Self, AddressError> {
        let uri: Uri =
            url.parse()
                .map_err(|error: http::uri::InvalidUri| AddressError::Malformed {
                    url: url.to_owned(),
                    reason: error.to_string(),
                })?;
        if uri.scheme() != Some(&Scheme::HTTP) {
            return Err(AddressError::Scheme {
                url: url.to_owned(),
            });
        }
        let host =
            uri.host()
                .filter(|host| !host.is_empty())
                .ok_or_else(|| AddressError::NoHost {
                    url: url.to_owned(),
                })?;
        let port = uri.port_u16().unwrap_or(80);
        let addrs = resolve(host, port, allow_remote)?;
        let path = uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        Ok(Self { uri, path, addrs })
    }
}

fn resolve(host: &str, port: u16, allow_remote: bool) -> Result<Vec<SocketAddr>, AddressError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs = if let Ok(ip) = bare.parse::<IpAddr>() {
        vec![SocketAddr::new(ip, port)]
    } else if bare.trim_end_matches('.').eq_ignore_ascii_case("localhost") {
        vec![
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port),
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port),
        ]
    } else if allow_remote {
        let unresolved = |reason: String| AddressError::Unresolved {
            host: host.to_owned(),
            reason,
        };
        let addrs: Vec<SocketAddr> = (bare, port)
            .to_socket_addrs()
            .map_err(|error| unresolved(error.to_string()))?
            .collect();
        if addrs.is_empty() {
            return Err(unresolved("no address".to_owned()));
        }
        addrs
    } else {
        return Err(AddressError::Remote {
            host: host.to_owned(),
        });
    };
    if !allow_remote && !addrs.iter().all(|addr| is_loopback(addr.ip())) {
        return Err(AddressError::Remote {
            host: host.to_owned(),
        });
    }
    Ok(addrs)
}

/// 127.0.0.0/8, `::1`, and IPv4-mapped IPv6 forms of 127.0.0.0/8.
fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<Address, AddressError> {
        Address::parse(url, false)
    }

    #[test]
    fn loopback_urls_resolve_without_dns() {
        let address = parse("http://127.0.0.1:8080/mcp").expect("loopback");
        assert_eq!(address.addrs, vec!["127.0.0.1:8080".parse().expect("addr")]);
        assert_eq!(address.path.as_str(), "/mcp");
        assert!(parse("http://127.8.9.10/").is_ok());
        assert_eq!(
            parse("http://[::1]:9/mcp?x=1").expect("v6").path.as_str(),
            "/mcp?x=1"
        );
        assert!(parse("http://[::ffff:127.0.0.1]:9/").is_ok());
        let localhost = parse("http://LocalHost:7").expect("localhost");
        assert_eq!(localhost.addrs.len(), 2);
        assert!(localhost.addrs.iter().all(|addr| addr.ip().is_loopback()));
        assert_eq!(localhost.path.as_str(), "/");
    }

    #[test]
    fn remote_and_unsupported_urls_are_refused() {
        for url in [
            "http://10.0.0.1/mcp",
            "http://[::ffff:10.0.0.1]/",
            "http://example.com/mcp",
        ] {
            assert!(
                matches!(parse(url), Err(AddressError::Remote { .. })),
                "{url}"
            );
        }
        assert!(matches!(
            parse("https://127.0.0.1/"),
            Err(AddressError::Scheme { .. })
        ));
        assert!(matches!(parse("/mcp"), Err(AddressError::Scheme { .. })));
        assert!(matches!(
            parse("http://exa mple"),
            Err(AddressError::Malformed { .. })
        ));
        assert!(Address::parse("http://10.0.0.1/mcp", true).is_ok());
    }
}
