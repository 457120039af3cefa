//! A service of the user's own (any tower `Service` speaking Streamable HTTP) as an in-process
//! target: built afresh for each scenario on the executor's paused clock, so the same bytes
//! give the same verdict, and called with the tools it lists.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, Uri};
use tower_service::Service;

use super::listing::{listing_eras, listing_scenario, tools_listed};
use super::{Runner, RunnerError, Verdict};
use crate::adapter::{BoxError, InProcess, RequestBody};
use crate::executor::{Executor, ToolCatalog};
use crate::oracle::judge;
use crate::scenario::Scenario;
use crate::trace::{Policy, Resources};

/// Runs scenarios against the services one function builds, one fresh service per scenario.
pub struct ServiceRunner<F> {
    name: String,
    endpoint: Uri,
    make: Arc<F>,
    policy: Policy,
    tools: ToolCatalog,
    executor: Executor,
}

impl<F> fmt::Debug for ServiceRunner<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceRunner")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl<F, S, B> ServiceRunner<F>
where
    F: Fn() -> S,
    S: Service<Request<RequestBody>, Response = Response<B>> + Clone + 'static,
    S::Future: 'static,
    S::Error: fmt::Display,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    /// A runner of the services `make` builds, named `name` in reports, serving `endpoint`
    /// (its authority is the `Host` the service is sent), judged by `policy`. It lists the
    /// service's tools first: a service that lists none is an error.
    pub fn new(
        name: impl Into<String>,
        endpoint: Uri,
        make: Arc<F>,
        policy: Policy,
    ) -> Result<Self, RunnerError> {
        let mut runner = Self {
            name: name.into(),
            endpoint,
            make,
            policy,
            tools: ToolCatalog::builtin(),
            executor: Executor::new(),
        };
        runner.tools = runner.list_tools()?;
        Ok(runner)
    }

    /// The tools a fresh service lists, in the eras worth trying.
    fn list_tools(&mut self) -> Result<ToolCatalog, RunnerError> {
        let mut reason = String::new();
        for era in listing_eras(self.policy.era) {
            let policy = Policy { era, ..self.policy };
            let target = target(&self.name, &self.endpoint, &*self.make);
            let trace = self.executor.run(target, &listing_scenario(era), policy);
            match tools_listed(&trace) {
                Ok(tools) => return Ok(tools),
                Err(why) => reason = why,
            }
        }
        Err(RunnerError::NotMcp {
            server: self.name.clone(),
            reason,
        })
    }
}

/// What builds one fresh target of `make`'s services. Such a target reports no resources of
/// its own: the executor adds the heap (where the binary installed the counting allocator) and
/// the runtime's tasks.
fn target<'a, F, S>(
    name: &'a str,
    endpoint: &'a Uri,
    make: &'a F,
) -> impl FnOnce() -> InProcess<S> + 'a
where
    F: Fn() -> S,
{
    move || InProcess::new(name, endpoint.clone(), make(), Resources::default)
}

impl<F, S, B> Runner for ServiceRunner<F>
where
    F: Fn() -> S,
    S: Service<Request<RequestBody>, Response = Response<B>> + Clone + 'static,
    S::Future: 'static,
    S::Error: fmt::Display,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    fn run_scenario(&mut self, scenario: Scenario) -> Verdict {
        let target = target(&self.name, &self.endpoint, &*self.make);
        let trace = self
            .executor
            .run_with_tools(target, &scenario, self.policy, &self.tools);
        let findings = judge(&trace);
        Verdict {
            scenario,
            trace,
            findings,
            probe: None,
        }
    }
}
