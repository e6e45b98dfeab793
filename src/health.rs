//! grpc.health.v1, with Watch streams that end when the daemon stops (tonic-health's never end,
//! which would hold a graceful drain open until its grace period ran out).
use std::{collections::HashMap, pin::Pin, sync::Arc};

use futures::Stream;
use tokio::sync::{RwLock, watch};
use tonic::{Request, Response, Status};
use tonic_health::pb::{
    HealthCheckRequest, HealthCheckResponse,
    health_check_response::ServingStatus,
    health_server::{Health, HealthServer},
};

type Statuses = Arc<RwLock<HashMap<String, watch::Sender<ServingStatus>>>>;

/// Sets statuses; cheap to clone.
#[derive(Clone, Default)]
pub struct Reporter {
    statuses: Statuses,
}

impl Reporter {
    pub async fn set(&self, service: &str, status: ServingStatus) {
        let mut map = self.statuses.write().await;
        match map.get(service) {
            Some(tx) => {
                tx.send_replace(status);
            }
            None => {
                map.insert(service.to_string(), watch::channel(status).0);
            }
        }
    }

    /// The health service; its Watch streams end once `stop` turns true.
    pub fn service(&self, stop: watch::Receiver<bool>) -> HealthServer<Service> {
        HealthServer::new(Service {
            statuses: self.statuses.clone(),
            stop,
        })
    }
}

pub struct Service {
    statuses: Statuses,
    stop: watch::Receiver<bool>,
}

fn response(status: ServingStatus) -> HealthCheckResponse {
    HealthCheckResponse {
        status: status as i32,
    }
}

#[tonic::async_trait]
impl Health for Service {
    async fn check(
        &self,
        req: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        match self.statuses.read().await.get(&req.get_ref().service) {
            Some(tx) => Ok(Response::new(response(*tx.borrow()))),
            None => Err(Status::not_found("service not registered")),
        }
    }

    type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

    async fn watch(
        &self,
        req: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let rx = match self.statuses.read().await.get(&req.get_ref().service) {
            Some(tx) => tx.subscribe(),
            None => return Err(Status::not_found("service not registered")),
        };
        // State: the status receiver, the stop receiver, the last status sent, and whether to end.
        let start = (rx, self.stop.clone(), None::<ServingStatus>, false);
        let stream = futures::stream::unfold(start, |(mut rx, mut stop, last, done)| async move {
            if done {
                return None;
            }
            loop {
                let (current, end) = if last.is_none() {
                    (*rx.borrow_and_update(), false)
                } else {
                    tokio::select! {
                        changed = rx.changed() => match changed {
                            Ok(()) => (*rx.borrow_and_update(), false),
                            Err(_) => return None,
                        },
                        _ = stop.wait_for(|s| *s) => (*rx.borrow_and_update(), true),
                    }
                };
                if Some(current) != last {
                    return Some((Ok(response(current)), (rx, stop, Some(current), end)));
                }
                if end {
                    return None;
                }
            }
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
