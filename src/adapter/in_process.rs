//! Any `tower_service::Service` as a target, called in process with no socket.

use crate::alloc;
use std::fmt;
use std::future::poll_fn;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use tower_service::Service;

use super::{BoxError, Call, RequestBody, Resources, Target, TargetError};

/// A tower service driven in process, with a function that reports what it holds.
pub struct InProcess<S> {
    name: String,
    endpoint: http::Uri,
    service: S,
    resources: Box<dyn Fn() -> Resources>,
}

impl<S> InProcess<S> {
    /// `service` named `name`, serving `endpoint` (its authority is what the service expects
    /// in `Host`); `resources` reads what it holds (the executor adds the heap and the
    /// runtime's tasks).
    pub fn new(
        name: impl Into<String>,
        endpoint: http::Uri,
        service: S,
        resources: impl Fn() -> Resources + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            endpoint,
            service,
            resources: Box::new(resources),
        }
    }

    /// The service itself.
    pub fn service(&self) -> &S {
        &self.service
    }
}

impl<S> fmt::Debug for InProcess<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InProcess")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<S, B> Target for InProcess<S>
where
    S: Service<Request<RequestBody>, Response = Response<B>> + Clone + 'static,
    S::Future: 'static,
    S::Error: fmt::Display,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn endpoint(&self) -> &http::Uri {
        &self.endpoint
    }

    fn call(&mut self, request: Request<RequestBody>) -> Call {
        let mut service = self.service.clone();
        Box::pin(async move {
            let failed = |error: S::Error| TargetError::Service(error.to_string());
            poll_fn(|cx| service.poll_ready(cx)).await.map_err(failed)?;
            let response = service.call(request).await.map_err(failed)?;
            Ok(response.map(|body| body.map_err(Into::into).boxed_unsync()))
        })
    }

    fn resources(&self) -> Resources {
        (self.resources)()
    }

    /// What the server side of this thread holds ([`alloc::restart_server_peak`]).
    fn restart_memory_peak(&mut self) -> Option<u64> {
        alloc::restart_server_peak().map(|bytes| bytes.max(0) as u64)
    }

    fn memory_peak(&self) -> Option<u64> {
        alloc::this_thread().map(|thread| thread.server_peak.max(0) as u64)
    }

    fn in_process(&self) -> bool {
        true
    }
}
