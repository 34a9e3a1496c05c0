//! What the leak tests share: a `tracing` subscriber that records the events of one thread.

use std::sync::{Arc, Mutex};

/// Runs `body` with a subscriber that records every event (level and message) on this thread.
pub fn capture_events(body: impl FnOnce()) -> Vec<(tracing::Level, String)> {
    let events = Arc::new(Mutex::new(Vec::new()));
    tracing::subscriber::with_default(
        Recorder {
            events: Arc::clone(&events),
        },
        body,
    );
    let events = events.lock().unwrap();
    events.clone()
}

struct Recorder {
    events: Arc<Mutex<Vec<(tracing::Level, String)>>>,
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _metadata: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _span: &tracing::span::Id, _values: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _span: &tracing::span::Id, _follows: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut message = Message(String::new());
        event.record(&mut message);
        self.events
            .lock()
            .unwrap()
            .push((*event.metadata().level(), message.0));
    }

    fn enter(&self, _span: &tracing::span::Id) {}

    fn exit(&self, _span: &tracing::span::Id) {}
}

struct Message(String);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}
