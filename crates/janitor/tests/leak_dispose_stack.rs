//! DisposeStack and AsyncDisposeStack and the leak detector, at `Full` level: a stack dropped
//! undisposed with entries is a forgotten dispose, reported where it was created; disposed, taken
//! or empty stacks are not.

use janitor::Dispose;
use janitor::dispose::{AsyncDisposeStack, DisposeStack};
use janitor::leak::{self, LeakCheck, LeakLevel};

fn full_check() -> LeakCheck {
    leak::set_level(LeakLevel::Full);
    LeakCheck::start()
}

#[test]
fn a_stack_dropped_undisposed_with_entries_is_reported_where_it_was_created() {
    let check = full_check();
    let stack = DisposeStack::new();
    let line = line!() - 1;
    stack.defer(|| ()).unwrap();
    drop(stack);
    let reports = check.finish();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0].type_name(),
        "janitor::dispose::stack::DisposeStack<'_>"
    );
    assert_eq!(
        (
            reports[0].created_at().file(),
            reports[0].created_at().line()
        ),
        (file!(), line)
    );
}

#[test]
fn a_disposed_stack_is_not_reported() {
    let check = full_check();
    let stack = DisposeStack::new();
    stack.defer(|| ()).unwrap();
    stack.try_dispose().unwrap();
    drop(stack);
    let through_the_trait: DisposeStack = DisposeStack::default();
    through_the_trait.defer(|| ()).unwrap();
    Dispose::dispose(&through_the_trait);
    drop(through_the_trait);
    assert!(check.finish().is_empty());
}

#[test]
fn an_empty_stack_dropped_undisposed_leaked_nothing() {
    let check = full_check();
    drop(DisposeStack::new());
    assert!(check.finish().is_empty());
}

#[test]
fn take_hands_the_entries_and_the_report_to_the_new_stack() {
    let check = full_check();
    let building = DisposeStack::new();
    building.defer(|| ()).unwrap();
    let owner = building.take().unwrap();
    let line = line!() - 1;
    drop(building);
    drop(owner);
    let reports = check.finish();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].created_at().line(), line);
}

#[test]
fn an_async_stack_dropped_undisposed_with_entries_is_reported() {
    let check = full_check();
    let stack = AsyncDisposeStack::new();
    let line = line!() - 1;
    stack.defer_async(async || ()).unwrap();
    drop(stack);
    let reports = check.finish();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0].type_name(),
        "janitor::dispose::async_stack::AsyncDisposeStack<'_>"
    );
    assert_eq!(reports[0].created_at().line(), line);
}

#[test]
fn an_async_stack_disposed_or_empty_is_not_reported() {
    let check = full_check();
    let stack = AsyncDisposeStack::new();
    stack.defer_async(async || ()).unwrap();
    pollster::block_on(stack.try_dispose_async()).unwrap();
    drop(stack);
    drop(AsyncDisposeStack::new());
    let building = AsyncDisposeStack::new();
    building.defer(|| ()).unwrap();
    let owner = building.take().unwrap();
    drop(building);
    pollster::block_on(owner.try_dispose_async()).unwrap();
    drop(owner);
    assert!(check.finish().is_empty());
}
