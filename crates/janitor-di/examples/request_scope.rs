//! One request scope, start to end: a scoped connection and a unit of work built on it, disposed
//! in reverse order when the scope ends, while the singleton configuration lives on until the
//! provider is disposed.
//!
//! `cargo run -p janitor-di --example request_scope`

use janitor::{Dispose, DisposeFlag};
use janitor_di::{Disposable, ProviderOptions, Resolve, ServiceCollection};
use std::sync::Arc;

struct Settings {
    database_url: &'static str,
    disposed: DisposeFlag,
}

impl Dispose for Settings {
    fn dispose(&self) {
        if self.disposed.try_begin() {
            println!("settings disposed (singleton, with the provider)");
        }
    }
}

struct Connection {
    url: &'static str,
    disposed: DisposeFlag,
}

impl Dispose for Connection {
    fn dispose(&self) {
        if self.disposed.try_begin() {
            println!("connection to {} closed", self.url);
        }
    }
}

struct UnitOfWork {
    connection: Arc<Connection>,
    disposed: DisposeFlag,
}

impl Dispose for UnitOfWork {
    fn dispose(&self) {
        if self.disposed.try_begin() {
            println!("unit of work on {} disposed", self.connection.url);
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut services = ServiceCollection::new();
    services.add_singleton(Disposable, |_| {
        Ok(Arc::new(Settings {
            database_url: "postgres://localhost/shop",
            disposed: DisposeFlag::new(),
        }))
    });
    services
        .add_scoped(Disposable, |resolver| {
            let settings = resolver.get_required::<Settings>()?;
            println!("connection to {} opened", settings.database_url);
            Ok(Arc::new(Connection {
                url: settings.database_url,
                disposed: DisposeFlag::new(),
            }))
        })
        .depends_on::<Settings>();
    services
        .add_scoped(Disposable, |resolver| {
            let connection = resolver.get_required::<Connection>()?;
            println!("unit of work begun");
            Ok(Arc::new(UnitOfWork {
                connection,
                disposed: DisposeFlag::new(),
            }))
        })
        .depends_on::<Connection>();
    let provider = services.build_provider_with(
        ProviderOptions::new()
            .with_scope_validation()
            .with_build_validation(),
    )?;

    let request = provider.create_scope()?;
    let work = request.get_required::<UnitOfWork>()?;
    println!("request handled");
    request.try_dispose()?;
    assert!(work.disposed.is_disposed() && work.connection.disposed.is_disposed());

    let settings = provider.get_required::<Settings>()?;
    assert!(!settings.disposed.is_disposed());
    provider.try_dispose()?;
    assert!(settings.disposed.is_disposed());
    Ok(())
}
