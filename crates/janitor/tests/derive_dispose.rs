//! `#[derive(Dispose)]`: reverse declaration order, hook first, unmarked fields untouched,
//! idempotence across threads, panics collected, every struct shape.

mod support;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use janitor::{Dispose, DisposeFlag};
use support::{Journal, Resource, capture_logs, panic_text};

#[derive(Dispose)]
struct Window {
    disposed: DisposeFlag,
    #[dispose]
    frame: Resource,
    #[dispose]
    canvas: Resource,
    #[dispose]
    toolbar: Resource,
    /// Borrowed from the application: not the window's to dispose.
    theme: Arc<Resource>,
}

fn window(journal: &Journal, theme: &Arc<Resource>) -> Window {
    Window {
        disposed: DisposeFlag::new(),
        frame: Resource::new("frame", journal),
        canvas: Resource::new("canvas", journal),
        toolbar: Resource::new("toolbar", journal),
        theme: theme.clone(),
    }
}

#[test]
fn marked_fields_are_disposed_in_reverse_declaration_order() {
    let journal = Journal::default();
    let theme = Arc::new(Resource::new("theme", &journal));
    window(&journal, &theme).dispose();
    assert_eq!(
        journal.entries(),
        ["dispose toolbar", "dispose canvas", "dispose frame"]
    );
}

#[test]
fn unmarked_fields_are_not_disposed() {
    let journal = Journal::default();
    let theme = Arc::new(Resource::new("theme", &journal));
    let window = window(&journal, &theme);
    window.dispose();
    assert_eq!(window.theme.read(), Ok("theme"));
}

#[test]
fn a_second_derived_dispose_does_nothing() {
    let journal = Journal::default();
    let theme = Arc::new(Resource::new("theme", &journal));
    let window = window(&journal, &theme);
    window.dispose();
    window.dispose();
    assert_eq!(journal.entries().len(), 3);
    assert!(window.disposed.check::<Window>().is_err());
}

#[test]
fn eight_threads_disposing_a_derived_value_at_once_dispose_each_field_once() {
    for _round in 0..50 {
        let journal = Journal::default();
        let theme = Arc::new(Resource::new("theme", &journal));
        let window = window(&journal, &theme);
        let start = Barrier::new(8);
        thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    start.wait();
                    window.dispose();
                });
            }
        });
        assert_eq!(
            journal.entries(),
            ["dispose toolbar", "dispose canvas", "dispose frame"]
        );
    }
}

#[derive(Dispose)]
#[dispose(with = Self::say_goodbye)]
struct Session {
    disposed: DisposeFlag,
    #[dispose]
    socket: Resource,
    journal: Journal,
}

impl Session {
    fn say_goodbye(&self) {
        let still_open = self.socket.read().is_ok();
        self.journal
            .write(format!("goodbye (socket open: {still_open})"));
    }
}

#[test]
fn the_hook_runs_first_while_the_fields_are_still_alive() {
    let journal = Journal::default();
    let session = Session {
        disposed: DisposeFlag::new(),
        socket: Resource::new("socket", &journal),
        journal: journal.clone(),
    };
    session.dispose();
    session.dispose();
    assert_eq!(
        journal.entries(),
        ["goodbye (socket open: true)", "dispose socket"]
    );
}

struct Exploding(&'static str);

impl Dispose for Exploding {
    fn dispose(&self) {
        panic!("{} exploded", self.0);
    }
}

#[derive(Dispose)]
struct Fragile {
    disposed: DisposeFlag,
    #[dispose]
    first: Resource,
    #[dispose]
    second: Exploding,
    #[dispose]
    third: Resource,
    #[dispose]
    fourth: Exploding,
}

#[test]
fn every_field_is_disposed_even_after_a_panic_and_the_first_panic_is_resumed() {
    let journal = Journal::default();
    let fragile = Fragile {
        disposed: DisposeFlag::new(),
        first: Resource::new("first", &journal),
        second: Exploding("second"),
        third: Resource::new("third", &journal),
        fourth: Exploding("fourth"),
    };
    let (outcome, logged) =
        capture_logs(|| panic::catch_unwind(AssertUnwindSafe(|| fragile.dispose())));
    assert_eq!(panic_text(&*outcome.unwrap_err()), "fourth exploded");
    assert_eq!(journal.entries(), ["dispose third", "dispose first"]);
    assert!(
        logged
            .iter()
            .any(|event| event.fields.contains("second exploded"))
    );
    assert!(fragile.disposed.is_disposed());
}

#[derive(Dispose)]
struct Tuple(#[dispose] Resource, DisposeFlag, #[dispose] Resource);

#[test]
fn tuple_structs_dispose_marked_fields_in_reverse_order() {
    let journal = Journal::default();
    Tuple(
        Resource::new("0", &journal),
        DisposeFlag::new(),
        Resource::new("2", &journal),
    )
    .dispose();
    assert_eq!(journal.entries(), ["dispose 2", "dispose 0"]);
}

#[derive(Dispose)]
struct Generic<'a, T, U: Send, const N: usize>
where
    T: Sync,
{
    disposed: DisposeFlag,
    #[dispose]
    item: Option<T>,
    #[dispose]
    borrowed: &'a U,
    sizes: [usize; N],
}

#[test]
fn generic_structs_get_dispose_bounds_for_their_marked_fields() {
    let journal = Journal::default();
    let borrowed = Resource::new("borrowed", &journal);
    let generic = Generic {
        disposed: DisposeFlag::new(),
        item: Some(Resource::new("item", &journal)),
        borrowed: &borrowed,
        sizes: [1, 2],
    };
    generic.dispose();
    assert_eq!(generic.sizes, [1, 2]);
    assert_eq!(journal.entries(), ["dispose borrowed", "dispose item"]);
}

type Guard = DisposeFlag;

#[derive(Dispose)]
struct MarkedFlag {
    #[dispose(flag)]
    guard: Guard,
    #[dispose]
    inner: Resource,
}

#[test]
fn the_flag_can_be_marked_when_its_type_is_aliased() {
    let journal = Journal::default();
    let marked = MarkedFlag {
        guard: DisposeFlag::new(),
        inner: Resource::new("inner", &journal),
    };
    marked.dispose();
    marked.dispose();
    assert_eq!(journal.entries(), ["dispose inner"]);
}

#[derive(Dispose)]
struct TwoFlags {
    #[dispose(flag)]
    disposed: DisposeFlag,
    /// A flag of its own, for another purpose: not the one that guards dispose.
    paused: DisposeFlag,
    #[dispose]
    inner: Resource,
}

#[test]
fn the_marked_flag_wins_over_other_flag_typed_fields() {
    let journal = Journal::default();
    let two = TwoFlags {
        disposed: DisposeFlag::new(),
        paused: DisposeFlag::new(),
        inner: Resource::new("inner", &journal),
    };
    two.dispose();
    assert!(two.disposed.is_disposed());
    assert!(!two.paused.is_disposed());
    assert_eq!(journal.entries(), ["dispose inner"]);
}

#[derive(Dispose)]
struct Application {
    disposed: DisposeFlag,
    #[dispose]
    main_window: Window,
    #[dispose]
    session: Session,
}

#[test]
fn derived_values_cascade_through_derived_fields() {
    let journal = Journal::default();
    let theme = Arc::new(Resource::new("theme", &journal));
    let application = Application {
        disposed: DisposeFlag::new(),
        main_window: window(&journal, &theme),
        session: Session {
            disposed: DisposeFlag::new(),
            socket: Resource::new("socket", &journal),
            journal: journal.clone(),
        },
    };
    application.dispose();
    assert_eq!(
        journal.entries(),
        [
            "goodbye (socket open: true)",
            "dispose socket",
            "dispose toolbar",
            "dispose canvas",
            "dispose frame",
        ]
    );
    assert_eq!(theme.read(), Ok("theme"));
}

#[test]
fn a_derived_value_can_be_disposed_through_dyn_dispose() {
    let counter = Arc::new(AtomicUsize::new(0));
    struct Counted(Arc<AtomicUsize>);
    impl Dispose for Counted {
        fn dispose(&self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    #[derive(Dispose)]
    struct Holder {
        disposed: DisposeFlag,
        #[dispose]
        counted: Counted,
    }
    let holder: Box<dyn Dispose> = Box::new(Holder {
        disposed: DisposeFlag::new(),
        counted: Counted(counter.clone()),
    });
    holder.dispose();
    holder.dispose();
    assert_eq!(counter.load(Ordering::Relaxed), 1);
}

#[derive(Dispose)]
struct OnlyAFlag {
    disposed: DisposeFlag,
}

#[test]
fn a_struct_with_nothing_to_cascade_is_still_marked_disposed() {
    let value = OnlyAFlag {
        disposed: DisposeFlag::new(),
    };
    value.dispose();
    assert!(value.disposed.check::<OnlyAFlag>().is_err());
}
