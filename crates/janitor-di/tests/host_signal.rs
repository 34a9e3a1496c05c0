//! A host stopped by SIGTERM. Alone in its own test binary, so the signal it sends to its own
//! process can reach no other test.

use janitor_di::{Host, HostedFuture, HostedService, NotDisposable};
use rustix::process::{Signal, getpid, kill_process};
use std::sync::{Arc, Mutex};

struct Worker {
    name: &'static str,
    journal: Arc<Mutex<Vec<String>>>,
}

impl HostedService for Worker {
    fn start(&self) -> HostedFuture<'_> {
        Box::pin(async move {
            self.journal
                .lock()
                .unwrap()
                .push(format!("start {}", self.name));
            Ok(())
        })
    }

    fn stop(&self) -> HostedFuture<'_> {
        Box::pin(async move {
            self.journal
                .lock()
                .unwrap()
                .push(format!("stop {}", self.name));
            Ok(())
        })
    }
}

#[test]
fn sigterm_stops_the_hosted_services_in_reverse_order() {
    let journal = Arc::new(Mutex::new(Vec::new()));
    let mut builder = Host::builder();
    for name in ["listener", "worker"] {
        let journal = Arc::clone(&journal);
        builder
            .add_hosted_service(NotDisposable, move |_| {
                Ok(Arc::new(Worker {
                    name,
                    journal: Arc::clone(&journal),
                }))
            })
            .keyed(name);
    }
    let host = builder.build().unwrap();
    let lifetime = host.lifetime();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    runtime.block_on(async {
        let running = tokio::spawn(host.run());
        // The host listens for signals before it starts anything, so once started the signal is
        // delivered to it rather than ending the process.
        lifetime.started().await;
        kill_process(getpid(), Signal::TERM).unwrap();
        running.await.unwrap().unwrap();
    });

    assert_eq!(
        *journal.lock().unwrap(),
        [
            "start listener",
            "start worker",
            "stop worker",
            "stop listener"
        ]
    );
}
