//! `closures`: what an interpreter for a garbage-collected language does to a heap: environments
//! holding closures that point back to them, and objects whose methods are bound to themselves.
//!
//! Shape: the values of a small dynamic language (integers, closures, instances, bound
//! methods); an environment is a map from names (interned: `u32` symbols) to values behind its
//! crate's cell, with a pointer to its parent environment; a closure holds its parameter's name, its
//! body (here a number that selects what it computes) and its defining environment; an instance is
//! a map of fields; a bound method holds its receiver and its closure. `ITERATIONS` times (200,000
//! full, 20,000 quick), as a call of a function that builds closures and objects would:
//! * a frame environment under the global one binds `x` and three closures defined in it (each a
//!   cycle: frame to closure to frame);
//! * an instance gets a field and a method bound to itself (`object.method = bound(object,
//!   closure)`: the cycle instance to bound method to instance), and the frame binds the instance;
//! * each closure is called once, and the bound method once: a call makes an environment under the
//!   closure's (binding the parameter, and `this` for the method) and evaluates its body, which
//!   looks `x` and the parameter up through the chain of environments (and `this.field`);
//! * one frame in `KEEP` (100) lets a closure escape into one of `RETAINED` (64) global variables,
//!   round robin, so some frames outlive their call for a while, as callbacks do;
//! * the frame and the instance are dropped: each frame leaves a garbage cycle of about a dozen
//!   objects, and each call an acyclic environment.
//!
//! At the end the global environment is dropped and each collector collects once (part of the
//! time). Rows: `janitor` (edges behind `GcCell`), `janitor-unsync` (the same on janitor's
//! thread-local heap, `janitor::gc::unsync`), `rc` (`Rc` and `RefCell`: the cycles leak; its
//! note counts the environments never dropped), `gc`, `rust-cc`, `dumpster` (its thread-local
//! heap, `dumpster::unsync`), `gc-arena` (one `mutate` per iteration, then the arena pays its
//! allocation debt). Every collecting row is checked to drop every environment by the end.
//!
//! What it measures: the time and the peak memory of the program; for janitor also the share of
//! the run spent in collection pauses (`gc pauses`: the growth of the heap's
//! `stats().program_pause()` over the run's time; the note gives the collections, the pause time
//! and the time the background collector spent beside the program). janitor counts a pause from a
//! collection's start (waiting for the heap lock included) to its decision (the survivors
//! promoted, the garbage handed on); dropping the garbage comes after and is not in it. The
//! shared heap's collections due to allocation run on its background collector thread: the
//! program's pause is then the time its allocations waited for the collector, plus the final
//! `collect`; on the thread-local heap every collection pauses the program.
//!
//! Checksum: the sum of every call's result, plus the number of environments created.

use crate::harness::{Case, Metric, Sample, Scale, Unit, Workload};

use super::cycle_churn::{Expect, Tally, noted};

/// Names, interned.
const X: u32 = 0;
const PARAMETER: u32 = 1;
const THIS: u32 = 2;
const FIELD: u32 = 3;
const METHOD: u32 = 4;
const OBJECT: u32 = 5;
/// The first of the closures' names in a frame.
const FUNCTIONS: u32 = 8;
/// The first of the global variables closures escape into.
const SAVED: u32 = 16;

/// Closures defined per frame.
const CLOSURES: u32 = 3;
/// One frame in `KEEP` lets a closure escape.
const KEEP: u64 = 100;
/// The global variables escaping closures go to, round robin.
const RETAINED: u64 = 64;

/// One implementation's values: the few operations the program needs, on its own types. Methods
/// take `&self` so that an implementation can carry a context (gc-arena's `Mutation`).
trait Interpreter {
    type Env: Clone;
    type Closure: Clone;
    type Instance: Clone;
    /// A fresh environment under `parent` (counted in the implementation's tally).
    fn new_env(&self, parent: &Self::Env) -> Self::Env;
    fn parent(&self, env: &Self::Env) -> Option<Self::Env>;
    fn define_number(&self, env: &Self::Env, name: u32, number: i64);
    fn define_closure(&self, env: &Self::Env, name: u32, closure: &Self::Closure);
    fn define_instance(&self, env: &Self::Env, name: u32, instance: &Self::Instance);
    /// The number bound to `name` in `env` itself, not its parents.
    fn own_number(&self, env: &Self::Env, name: u32) -> Option<i64>;
    /// The closure bound to `name` in `env` itself, not its parents.
    fn own_closure(&self, env: &Self::Env, name: u32) -> Option<Self::Closure>;
    /// The instance bound to `name` in `env` itself, not its parents.
    fn own_instance(&self, env: &Self::Env, name: u32) -> Option<Self::Instance>;
    fn closure(&self, parameter: u32, body: u32, env: &Self::Env) -> Self::Closure;
    /// A closure's parameter, body and environment.
    fn closure_parts(&self, closure: &Self::Closure) -> (u32, u32, Self::Env);
    fn instance(&self) -> Self::Instance;
    fn set_field_number(&self, instance: &Self::Instance, name: u32, number: i64);
    fn field_number(&self, instance: &Self::Instance, name: u32) -> i64;
    /// Stores at `name` a method bound to `instance` itself.
    fn bind_method(&self, instance: &Self::Instance, name: u32, method: &Self::Closure);
    /// The receiver and closure of the bound method at `name`.
    fn bound_method(&self, instance: &Self::Instance, name: u32)
    -> (Self::Instance, Self::Closure);
}

/// Looks `name` up through `env`'s chain of environments, as a number.
fn lookup_number<I: Interpreter>(interpreter: &I, env: &I::Env, name: u32) -> i64 {
    let mut current = env.clone();
    loop {
        if let Some(number) = interpreter.own_number(&current, name) {
            return number;
        }
        current = interpreter
            .parent(&current)
            .expect("the program only reads names it bound");
    }
}

/// Calls `closure` with `argument` (and `this`, for a bound method).
fn call<I: Interpreter>(
    interpreter: &I,
    closure: &I::Closure,
    argument: i64,
    this: Option<&I::Instance>,
) -> i64 {
    let (parameter, body, env) = interpreter.closure_parts(closure);
    let frame = interpreter.new_env(&env);
    interpreter.define_number(&frame, parameter, argument);
    let field = match this {
        Some(this) => {
            interpreter.define_instance(&frame, THIS, this);
            let this = interpreter
                .own_instance(&frame, THIS)
                .expect("`this` was just bound");
            interpreter.field_number(&this, FIELD)
        }
        None => 0,
    };
    lookup_number(interpreter, &frame, X)
        + lookup_number(interpreter, &frame, parameter)
        + i64::from(body)
        + field
}

/// One iteration of the program (the top of this module); returns the sum of its calls' results.
fn iteration<I: Interpreter>(interpreter: &I, global: &I::Env, index: u64) -> u64 {
    let frame = interpreter.new_env(global);
    interpreter.define_number(&frame, X, index as i64);
    let closures: Vec<I::Closure> = (0..CLOSURES)
        .map(|body| {
            let closure = interpreter.closure(PARAMETER, body, &frame);
            interpreter.define_closure(&frame, FUNCTIONS + body, &closure);
            closure
        })
        .collect();
    let object = interpreter.instance();
    interpreter.set_field_number(&object, FIELD, (index % 7) as i64);
    interpreter.bind_method(&object, METHOD, &closures[0]);
    interpreter.define_instance(&frame, OBJECT, &object);
    let mut result: i64 = (0..CLOSURES)
        .map(|body| {
            let closure = interpreter
                .own_closure(&frame, FUNCTIONS + body)
                .expect("the frame binds its closures");
            call(interpreter, &closure, i64::from(body), None)
        })
        .sum();
    let (receiver, method) = interpreter.bound_method(&object, METHOD);
    result += call(interpreter, &method, 1, Some(&receiver));
    if index.is_multiple_of(KEEP) {
        let slot = SAVED + ((index / KEEP) % RETAINED) as u32;
        interpreter.define_closure(global, slot, &closures[1]);
    }
    result as u64
}

/// Environments created per iteration: the frame and one per call.
const ENVS_PER_ITERATION: u64 = 1 + CLOSURES as u64 + 1;

/// The checksum of a run of `iterations`, from the sum of its calls' results.
fn checksum(results: u64, iterations: u64) -> u64 {
    results + iterations * ENVS_PER_ITERATION
}

/// Runs `iterations` on an implementation whose values need no context; `finish` drops the global
/// environment and collects.
fn program<I: Interpreter>(
    interpreter: &I,
    global: I::Env,
    iterations: u64,
    finish: impl FnOnce(I::Env),
) -> u64 {
    let results = (0..iterations)
        .map(|index| iteration(interpreter, &global, index))
        .fold(0u64, u64::wrapping_add);
    finish(global);
    checksum(results, iterations)
}

/// Times `run` and turns the tally into the row's note.
fn sample(expect: Expect, tally: &Tally, run: impl FnOnce() -> u64) -> Sample {
    tally.reset();
    let sample = Sample::timing(run);
    noted(sample, expect, Some(tally.count()), "environments")
}

/// A janitor row: the sample, with the share of its time spent in collection pauses (`stats` reads
/// the heap's statistics: the shared heap's or this thread's).
fn janitor_sample(
    tally: &Tally,
    stats: fn() -> janitor::gc::GcStats,
    run: impl FnOnce() -> u64,
) -> Sample {
    let before = stats();
    let sample = sample(Expect::ReclaimsCycles, tally, run);
    let after = stats();
    let paused = after.program_pause().saturating_sub(before.program_pause());
    let background = after
        .background_pause
        .saturating_sub(before.background_pause);
    let collections = after.collections[0] - before.collections[0];
    let share = paused.as_secs_f64() / sample.elapsed.as_secs_f64();
    let pauses = format!(
        "{collections} collections, {:.1} ms of pause, {:.1} ms in the background",
        paused.as_secs_f64() * 1e3,
        background.as_secs_f64() * 1e3
    );
    let note = match &sample.note {
        Some(note) => format!("{note}; {pauses}"),
        None => pauses,
    };
    sample
        .with(Metric::new("gc pauses", share, Unit::Share))
        .noted(note)
}

/// The workload at `scale`.
///
/// ```
/// use janitor_bench::harness::{measure, Scale};
/// let workload = janitor_bench::workloads::closures::workload(Scale::Smoke);
/// let measured = measure(&workload, 1, |_, _| {}).unwrap();
/// let rc = measured.rows.iter().find(|row| row.implementation == "rc").unwrap();
/// assert!(rc.note.as_deref().unwrap().starts_with("leaks cycles"));
/// ```
pub fn workload(scale: Scale) -> Workload {
    let iterations: u64 = match scale {
        Scale::Smoke => 1_000,
        Scale::Quick => 20_000,
        Scale::Full => 200_000,
    };
    use Expect::{LeaksCycles, ReclaimsCycles};
    Workload {
        name: "closures",
        baseline: "janitor",
        cases: vec![
            Case::new("janitor", move || {
                janitor_sample(&janitor_heap::TALLY, janitor::gc::stats, || {
                    janitor_heap::run(iterations)
                })
            }),
            Case::new("janitor-unsync", move || {
                janitor_sample(
                    &janitor_unsync_heap::TALLY,
                    janitor::gc::unsync::stats,
                    || janitor_unsync_heap::run(iterations),
                )
            }),
            Case::new("rc", move || {
                sample(LeaksCycles, &rc::TALLY, || rc::run(iterations))
            }),
            Case::new("gc", move || {
                sample(ReclaimsCycles, &gc_crate::TALLY, || {
                    gc_crate::run(iterations)
                })
            }),
            Case::new("rust-cc", move || {
                sample(ReclaimsCycles, &rust_cc_crate::TALLY, || {
                    rust_cc_crate::run(iterations)
                })
            }),
            Case::new("dumpster", move || {
                sample(ReclaimsCycles, &dumpster_unsync::TALLY, || {
                    dumpster_unsync::run(iterations)
                })
            }),
            Case::new("gc-arena", move || {
                sample(ReclaimsCycles, &gc_arena_crate::TALLY, || {
                    gc_arena_crate::run(iterations)
                })
            }),
        ],
        absent: vec![],
    }
}

/// janitor: maps behind `GcCell`; the heap collects when its budgets say so.
mod janitor_heap {
    use std::collections::HashMap;

    use janitor::gc::{Gc, GcCell, Trace, collect};

    use super::super::cycle_churn::Tally;

    pub(super) static TALLY: Tally = Tally::new();

    #[derive(Trace)]
    enum Value {
        Number(#[trace(skip)] i64),
        Closure(Gc<Closure>),
        Instance(Gc<Instance>),
        Bound(Gc<Bound>),
    }

    #[derive(Trace)]
    pub(super) struct Env {
        vars: GcCell<HashMap<u32, Value>>,
        parent: Option<Gc<Env>>,
    }

    impl Drop for Env {
        fn drop(&mut self) {
            if self.parent.is_some() {
                TALLY.dropped();
            }
        }
    }

    #[derive(Trace)]
    pub(super) struct Closure {
        #[trace(skip)]
        parameter: u32,
        #[trace(skip)]
        body: u32,
        env: Gc<Env>,
    }

    #[derive(Trace)]
    pub(super) struct Instance {
        fields: GcCell<HashMap<u32, Value>>,
    }

    #[derive(Trace)]
    pub(super) struct Bound {
        receiver: Gc<Instance>,
        method: Gc<Closure>,
    }

    fn env(parent: Option<Gc<Env>>) -> Gc<Env> {
        if parent.is_some() {
            TALLY.created();
        }
        Gc::new(Env {
            vars: GcCell::new(HashMap::new()),
            parent,
        })
    }

    struct Interpreter;

    impl super::Interpreter for Interpreter {
        type Env = Gc<Env>;
        type Closure = Gc<Closure>;
        type Instance = Gc<Instance>;

        fn new_env(&self, parent: &Gc<Env>) -> Gc<Env> {
            env(Some(parent.clone()))
        }

        fn parent(&self, env: &Gc<Env>) -> Option<Gc<Env>> {
            env.parent.clone()
        }

        fn define_number(&self, env: &Gc<Env>, name: u32, number: i64) {
            env.vars.borrow_mut().insert(name, Value::Number(number));
        }

        fn define_closure(&self, env: &Gc<Env>, name: u32, closure: &Gc<Closure>) {
            let old = env
                .vars
                .borrow_mut()
                .insert(name, Value::Closure(closure.clone()));
            drop(old);
        }

        fn define_instance(&self, env: &Gc<Env>, name: u32, instance: &Gc<Instance>) {
            env.vars
                .borrow_mut()
                .insert(name, Value::Instance(instance.clone()));
        }

        fn own_number(&self, env: &Gc<Env>, name: u32) -> Option<i64> {
            match env.vars.borrow().get(&name) {
                Some(Value::Number(number)) => Some(*number),
                _ => None,
            }
        }

        fn own_closure(&self, env: &Gc<Env>, name: u32) -> Option<Gc<Closure>> {
            match env.vars.borrow().get(&name) {
                Some(Value::Closure(closure)) => Some(closure.clone()),
                _ => None,
            }
        }

        fn own_instance(&self, env: &Gc<Env>, name: u32) -> Option<Gc<Instance>> {
            match env.vars.borrow().get(&name) {
                Some(Value::Instance(instance)) => Some(instance.clone()),
                _ => None,
            }
        }

        fn closure(&self, parameter: u32, body: u32, env: &Gc<Env>) -> Gc<Closure> {
            Gc::new(Closure {
                parameter,
                body,
                env: env.clone(),
            })
        }

        fn closure_parts(&self, closure: &Gc<Closure>) -> (u32, u32, Gc<Env>) {
            (closure.parameter, closure.body, closure.env.clone())
        }

        fn instance(&self) -> Gc<Instance> {
            Gc::new(Instance {
                fields: GcCell::new(HashMap::new()),
            })
        }

        fn set_field_number(&self, instance: &Gc<Instance>, name: u32, number: i64) {
            instance
                .fields
                .borrow_mut()
                .insert(name, Value::Number(number));
        }

        fn field_number(&self, instance: &Gc<Instance>, name: u32) -> i64 {
            match instance.fields.borrow().get(&name) {
                Some(Value::Number(number)) => *number,
                _ => unreachable!("the program only reads fields it set"),
            }
        }

        fn bind_method(&self, instance: &Gc<Instance>, name: u32, method: &Gc<Closure>) {
            let bound = Gc::new(Bound {
                receiver: instance.clone(),
                method: method.clone(),
            });
            instance
                .fields
                .borrow_mut()
                .insert(name, Value::Bound(bound));
        }

        fn bound_method(&self, instance: &Gc<Instance>, name: u32) -> (Gc<Instance>, Gc<Closure>) {
            match instance.fields.borrow().get(&name) {
                Some(Value::Bound(bound)) => (bound.receiver.clone(), bound.method.clone()),
                _ => unreachable!("the program only calls methods it bound"),
            }
        }
    }

    pub(super) fn run(iterations: u64) -> u64 {
        super::program(&Interpreter, env(None), iterations, |global| {
            drop(global);
            collect();
        })
    }
}

/// janitor's thread-local heap (`janitor::gc::unsync`): the same program on plain counts; maps
/// behind its `GcCell`, and it collects when its budget says so.
mod janitor_unsync_heap {
    use std::collections::HashMap;

    use janitor::gc::Trace;
    use janitor::gc::unsync::{Gc, GcCell, collect};

    use super::super::cycle_churn::Tally;

    pub(super) static TALLY: Tally = Tally::new();

    #[derive(Trace)]
    enum Value {
        Number(#[trace(skip)] i64),
        Closure(Gc<Closure>),
        Instance(Gc<Instance>),
        Bound(Gc<Bound>),
    }

    #[derive(Trace)]
    pub(super) struct Env {
        vars: GcCell<HashMap<u32, Value>>,
        parent: Option<Gc<Env>>,
    }

    impl Drop for Env {
        fn drop(&mut self) {
            if self.parent.is_some() {
                TALLY.dropped();
            }
        }
    }

    #[derive(Trace)]
    pub(super) struct Closure {
        #[trace(skip)]
        parameter: u32,
        #[trace(skip)]
        body: u32,
        env: Gc<Env>,
    }

    #[derive(Trace)]
    pub(super) struct Instance {
        fields: GcCell<HashMap<u32, Value>>,
    }

    #[derive(Trace)]
    pub(super) struct Bound {
        receiver: Gc<Instance>,
        method: Gc<Closure>,
    }

    fn env(parent: Option<Gc<Env>>) -> Gc<Env> {
        if parent.is_some() {
            TALLY.created();
        }
        Gc::new(Env {
            vars: GcCell::new(HashMap::new()),
            parent,
        })
    }

    struct Interpreter;

    impl super::Interpreter for Interpreter {
        type Env = Gc<Env>;
        type Closure = Gc<Closure>;
        type Instance = Gc<Instance>;

        fn new_env(&self, parent: &Gc<Env>) -> Gc<Env> {
            env(Some(parent.clone()))
        }

        fn parent(&self, env: &Gc<Env>) -> Option<Gc<Env>> {
            env.parent.clone()
        }

        fn define_number(&self, env: &Gc<Env>, name: u32, number: i64) {
            env.vars.borrow_mut().insert(name, Value::Number(number));
        }

        fn define_closure(&self, env: &Gc<Env>, name: u32, closure: &Gc<Closure>) {
            let old = env
                .vars
                .borrow_mut()
                .insert(name, Value::Closure(closure.clone()));
            drop(old);
        }

        fn define_instance(&self, env: &Gc<Env>, name: u32, instance: &Gc<Instance>) {
            env.vars
                .borrow_mut()
                .insert(name, Value::Instance(instance.clone()));
        }

        fn own_number(&self, env: &Gc<Env>, name: u32) -> Option<i64> {
            match env.vars.borrow().get(&name) {
                Some(Value::Number(number)) => Some(*number),
                _ => None,
            }
        }

        fn own_closure(&self, env: &Gc<Env>, name: u32) -> Option<Gc<Closure>> {
            match env.vars.borrow().get(&name) {
                Some(Value::Closure(closure)) => Some(closure.clone()),
                _ => None,
            }
        }

        fn own_instance(&self, env: &Gc<Env>, name: u32) -> Option<Gc<Instance>> {
            match env.vars.borrow().get(&name) {
                Some(Value::Instance(instance)) => Some(instance.clone()),
                _ => None,
            }
        }

        fn closure(&self, parameter: u32, body: u32, env: &Gc<Env>) -> Gc<Closure> {
            Gc::new(Closure {
                parameter,
                body,
                env: env.clone(),
            })
        }

        fn closure_parts(&self, closure: &Gc<Closure>) -> (u32, u32, Gc<Env>) {
            (closure.parameter, closure.body, closure.env.clone())
        }

        fn instance(&self) -> Gc<Instance> {
            Gc::new(Instance {
                fields: GcCell::new(HashMap::new()),
            })
        }

        fn set_field_number(&self, instance: &Gc<Instance>, name: u32, number: i64) {
            instance
                .fields
                .borrow_mut()
                .insert(name, Value::Number(number));
        }

        fn field_number(&self, instance: &Gc<Instance>, name: u32) -> i64 {
            match instance.fields.borrow().get(&name) {
                Some(Value::Number(number)) => *number,
                _ => unreachable!("the program only reads fields it set"),
            }
        }

        fn bind_method(&self, instance: &Gc<Instance>, name: u32, method: &Gc<Closure>) {
            let bound = Gc::new(Bound {
                receiver: instance.clone(),
                method: method.clone(),
            });
            instance
                .fields
                .borrow_mut()
                .insert(name, Value::Bound(bound));
        }

        fn bound_method(&self, instance: &Gc<Instance>, name: u32) -> (Gc<Instance>, Gc<Closure>) {
            match instance.fields.borrow().get(&name) {
                Some(Value::Bound(bound)) => (bound.receiver.clone(), bound.method.clone()),
                _ => unreachable!("the program only calls methods it bound"),
            }
        }
    }

    pub(super) fn run(iterations: u64) -> u64 {
        super::program(&Interpreter, env(None), iterations, |global| {
            drop(global);
            collect();
        })
    }
}

/// `Rc` and `RefCell`: the cycles are never dropped.
mod rc {
    use std::collections::HashMap;

    use std::cell::RefCell;
    use std::rc::Rc;

    use super::super::cycle_churn::Tally;

    pub(super) static TALLY: Tally = Tally::new();

    enum Value {
        Number(i64),
        Closure(Rc<Closure>),
        Instance(Rc<Instance>),
        Bound(Rc<Bound>),
    }

    pub(super) struct Env {
        vars: RefCell<HashMap<u32, Value>>,
        parent: Option<Rc<Env>>,
    }

    impl Drop for Env {
        fn drop(&mut self) {
            if self.parent.is_some() {
                TALLY.dropped();
            }
        }
    }

    pub(super) struct Closure {
        parameter: u32,
        body: u32,
        env: Rc<Env>,
    }

    pub(super) struct Instance {
        fields: RefCell<HashMap<u32, Value>>,
    }

    pub(super) struct Bound {
        receiver: Rc<Instance>,
        method: Rc<Closure>,
    }

    fn env(parent: Option<Rc<Env>>) -> Rc<Env> {
        if parent.is_some() {
            TALLY.created();
        }
        Rc::new(Env {
            vars: RefCell::new(Default::default()),
            parent,
        })
    }

    struct Interpreter;

    impl super::Interpreter for Interpreter {
        type Env = Rc<Env>;
        type Closure = Rc<Closure>;
        type Instance = Rc<Instance>;

        fn new_env(&self, parent: &Rc<Env>) -> Rc<Env> {
            env(Some(parent.clone()))
        }

        fn parent(&self, env: &Rc<Env>) -> Option<Rc<Env>> {
            env.parent.clone()
        }

        fn define_number(&self, env: &Rc<Env>, name: u32, number: i64) {
            env.vars.borrow_mut().insert(name, Value::Number(number));
        }

        fn define_closure(&self, env: &Rc<Env>, name: u32, closure: &Rc<Closure>) {
            let old = env
                .vars
                .borrow_mut()
                .insert(name, Value::Closure(closure.clone()));
            drop(old);
        }

        fn define_instance(&self, env: &Rc<Env>, name: u32, instance: &Rc<Instance>) {
            env.vars
                .borrow_mut()
                .insert(name, Value::Instance(instance.clone()));
        }

        fn own_number(&self, env: &Rc<Env>, name: u32) -> Option<i64> {
            match env.vars.borrow().get(&name) {
                Some(Value::Number(number)) => Some(*number),
                _ => None,
            }
        }

        fn own_closure(&self, env: &Rc<Env>, name: u32) -> Option<Rc<Closure>> {
            match env.vars.borrow().get(&name) {
                Some(Value::Closure(closure)) => Some(closure.clone()),
                _ => None,
            }
        }

        fn own_instance(&self, env: &Rc<Env>, name: u32) -> Option<Rc<Instance>> {
            match env.vars.borrow().get(&name) {
                Some(Value::Instance(instance)) => Some(instance.clone()),
                _ => None,
            }
        }

        fn closure(&self, parameter: u32, body: u32, env: &Rc<Env>) -> Rc<Closure> {
            Rc::new(Closure {
                parameter,
                body,
                env: env.clone(),
            })
        }

        fn closure_parts(&self, closure: &Rc<Closure>) -> (u32, u32, Rc<Env>) {
            (closure.parameter, closure.body, closure.env.clone())
        }

        fn instance(&self) -> Rc<Instance> {
            Rc::new(Instance {
                fields: RefCell::new(Default::default()),
            })
        }

        fn set_field_number(&self, instance: &Rc<Instance>, name: u32, number: i64) {
            instance
                .fields
                .borrow_mut()
                .insert(name, Value::Number(number));
        }

        fn field_number(&self, instance: &Rc<Instance>, name: u32) -> i64 {
            match instance.fields.borrow().get(&name) {
                Some(Value::Number(number)) => *number,
                _ => unreachable!("the program only reads fields it set"),
            }
        }

        fn bind_method(&self, instance: &Rc<Instance>, name: u32, method: &Rc<Closure>) {
            let bound = Rc::new(Bound {
                receiver: instance.clone(),
                method: method.clone(),
            });
            instance
                .fields
                .borrow_mut()
                .insert(name, Value::Bound(bound));
        }

        fn bound_method(&self, instance: &Rc<Instance>, name: u32) -> (Rc<Instance>, Rc<Closure>) {
            match instance.fields.borrow().get(&name) {
                Some(Value::Bound(bound)) => (bound.receiver.clone(), bound.method.clone()),
                _ => unreachable!("the program only calls methods it bound"),
            }
        }
    }

    pub(super) fn run(iterations: u64) -> u64 {
        super::program(&Interpreter, env(None), iterations, drop)
    }
}

/// The `gc` crate: maps behind its `GcCell`; it collects when its allocation threshold is crossed.
// gc's derives (built on an old synstructure) put their impls inside a constant.
#[allow(non_local_definitions)]
mod gc_crate {
    use std::collections::HashMap;

    use gc::{Finalize, Gc, GcCell, Trace, force_collect};

    use super::super::cycle_churn::Tally;

    pub(super) static TALLY: Tally = Tally::new();

    #[derive(Trace, Finalize)]
    enum Value {
        Number(i64),
        Closure(Gc<Closure>),
        Instance(Gc<Instance>),
        Bound(Gc<Bound>),
    }

    #[derive(Trace)]
    pub(super) struct Env {
        vars: GcCell<HashMap<u32, Value>>,
        parent: Option<Gc<Env>>,
    }

    // The crate's `Trace` derive owns `Drop`: environments are counted in `Finalize`, which it
    // runs once for every object it reclaims.
    impl Finalize for Env {
        fn finalize(&self) {
            if self.parent.is_some() {
                TALLY.dropped();
            }
        }
    }

    #[derive(Trace, Finalize)]
    pub(super) struct Closure {
        parameter: u32,
        body: u32,
        env: Gc<Env>,
    }

    #[derive(Trace, Finalize)]
    pub(super) struct Instance {
        fields: GcCell<HashMap<u32, Value>>,
    }

    #[derive(Trace, Finalize)]
    pub(super) struct Bound {
        receiver: Gc<Instance>,
        method: Gc<Closure>,
    }

    fn env(parent: Option<Gc<Env>>) -> Gc<Env> {
        if parent.is_some() {
            TALLY.created();
        }
        Gc::new(Env {
            vars: GcCell::new(Default::default()),
            parent,
        })
    }

    struct Interpreter;

    impl super::Interpreter for Interpreter {
        type Env = Gc<Env>;
        type Closure = Gc<Closure>;
        type Instance = Gc<Instance>;

        fn new_env(&self, parent: &Gc<Env>) -> Gc<Env> {
            env(Some(parent.clone()))
        }

        fn parent(&self, env: &Gc<Env>) -> Option<Gc<Env>> {
            env.parent.clone()
        }

        fn define_number(&self, env: &Gc<Env>, name: u32, number: i64) {
            env.vars.borrow_mut().insert(name, Value::Number(number));
        }

        fn define_closure(&self, env: &Gc<Env>, name: u32, closure: &Gc<Closure>) {
            let old = env
                .vars
                .borrow_mut()
                .insert(name, Value::Closure(closure.clone()));
            drop(old);
        }

        fn define_instance(&self, env: &Gc<Env>, name: u32, instance: &Gc<Instance>) {
            env.vars
                .borrow_mut()
                .insert(name, Value::Instance(instance.clone()));
        }

        fn own_number(&self, env: &Gc<Env>, name: u32) -> Option<i64> {
            match env.vars.borrow().get(&name) {
                Some(Value::Number(number)) => Some(*number),
                _ => None,
            }
        }

        fn own_closure(&self, env: &Gc<Env>, name: u32) -> Option<Gc<Closure>> {
            match env.vars.borrow().get(&name) {
                Some(Value::Closure(closure)) => Some(closure.clone()),
                _ => None,
            }
        }

        fn own_instance(&self, env: &Gc<Env>, name: u32) -> Option<Gc<Instance>> {
            match env.vars.borrow().get(&name) {
                Some(Value::Instance(instance)) => Some(instance.clone()),
                _ => None,
            }
        }

        fn closure(&self, parameter: u32, body: u32, env: &Gc<Env>) -> Gc<Closure> {
            Gc::new(Closure {
                parameter,
                body,
                env: env.clone(),
            })
        }

        fn closure_parts(&self, closure: &Gc<Closure>) -> (u32, u32, Gc<Env>) {
            (closure.parameter, closure.body, closure.env.clone())
        }

        fn instance(&self) -> Gc<Instance> {
            Gc::new(Instance {
                fields: GcCell::new(Default::default()),
            })
        }

        fn set_field_number(&self, instance: &Gc<Instance>, name: u32, number: i64) {
            instance
                .fields
                .borrow_mut()
                .insert(name, Value::Number(number));
        }

        fn field_number(&self, instance: &Gc<Instance>, name: u32) -> i64 {
            match instance.fields.borrow().get(&name) {
                Some(Value::Number(number)) => *number,
                _ => unreachable!("the program only reads fields it set"),
            }
        }

        fn bind_method(&self, instance: &Gc<Instance>, name: u32, method: &Gc<Closure>) {
            let bound = Gc::new(Bound {
                receiver: instance.clone(),
                method: method.clone(),
            });
            instance
                .fields
                .borrow_mut()
                .insert(name, Value::Bound(bound));
        }

        fn bound_method(&self, instance: &Gc<Instance>, name: u32) -> (Gc<Instance>, Gc<Closure>) {
            match instance.fields.borrow().get(&name) {
                Some(Value::Bound(bound)) => (bound.receiver.clone(), bound.method.clone()),
                _ => unreachable!("the program only calls methods it bound"),
            }
        }
    }

    pub(super) fn run(iterations: u64) -> u64 {
        super::program(&Interpreter, env(None), iterations, |global| {
            drop(global);
            force_collect();
        })
    }
}

/// `rust-cc`: maps behind `RefCell`; it collects cycles automatically. It implements `Trace` for no
/// map type, so the maps are wrapped in `Vars`, which traces its values.
mod rust_cc_crate {
    use std::collections::HashMap;

    use std::cell::RefCell;

    use rust_cc::{Cc, Context, Finalize, Trace, collect_cycles};

    use super::super::cycle_churn::Tally;

    pub(super) static TALLY: Tally = Tally::new();

    #[derive(Trace, Finalize)]
    enum Value {
        Number(i64),
        Closure(Cc<Closure>),
        Instance(Cc<Instance>),
        Bound(Cc<Bound>),
    }

    #[derive(Trace)]
    pub(super) struct Env {
        vars: RefCell<Vars>,
        parent: Option<Cc<Env>>,
    }

    // The crate's `Trace` derive owns `Drop`: environments are counted in `Finalize`, which it
    // runs once before it frees an object.
    impl Finalize for Env {
        fn finalize(&self) {
            if self.parent.is_some() {
                TALLY.dropped();
            }
        }
    }

    #[derive(Trace, Finalize)]
    pub(super) struct Closure {
        parameter: u32,
        body: u32,
        env: Cc<Env>,
    }

    #[derive(Trace, Finalize)]
    pub(super) struct Instance {
        fields: RefCell<Vars>,
    }

    #[derive(Trace, Finalize)]
    pub(super) struct Bound {
        receiver: Cc<Instance>,
        method: Cc<Closure>,
    }

    /// A map of names to values that rust-cc can trace.
    #[derive(Default)]
    struct Vars(HashMap<u32, Value>);

    // SAFETY: `trace` visits every `Cc` the map holds (all in its values), and nothing else.
    unsafe impl Trace for Vars {
        fn trace(&self, ctx: &mut Context<'_>) {
            self.0.values().for_each(|value| value.trace(ctx));
        }
    }

    impl Finalize for Vars {}

    impl std::ops::Deref for Vars {
        type Target = HashMap<u32, Value>;

        fn deref(&self) -> &HashMap<u32, Value> {
            &self.0
        }
    }

    impl std::ops::DerefMut for Vars {
        fn deref_mut(&mut self) -> &mut HashMap<u32, Value> {
            &mut self.0
        }
    }

    fn env(parent: Option<Cc<Env>>) -> Cc<Env> {
        if parent.is_some() {
            TALLY.created();
        }
        Cc::new(Env {
            vars: RefCell::new(Default::default()),
            parent,
        })
    }

    struct Interpreter;

    impl super::Interpreter for Interpreter {
        type Env = Cc<Env>;
        type Closure = Cc<Closure>;
        type Instance = Cc<Instance>;

        fn new_env(&self, parent: &Cc<Env>) -> Cc<Env> {
            env(Some(parent.clone()))
        }

        fn parent(&self, env: &Cc<Env>) -> Option<Cc<Env>> {
            env.parent.clone()
        }

        fn define_number(&self, env: &Cc<Env>, name: u32, number: i64) {
            env.vars.borrow_mut().insert(name, Value::Number(number));
        }

        fn define_closure(&self, env: &Cc<Env>, name: u32, closure: &Cc<Closure>) {
            let old = env
                .vars
                .borrow_mut()
                .insert(name, Value::Closure(closure.clone()));
            drop(old);
        }

        fn define_instance(&self, env: &Cc<Env>, name: u32, instance: &Cc<Instance>) {
            env.vars
                .borrow_mut()
                .insert(name, Value::Instance(instance.clone()));
        }

        fn own_number(&self, env: &Cc<Env>, name: u32) -> Option<i64> {
            match env.vars.borrow().get(&name) {
                Some(Value::Number(number)) => Some(*number),
                _ => None,
            }
        }

        fn own_closure(&self, env: &Cc<Env>, name: u32) -> Option<Cc<Closure>> {
            match env.vars.borrow().get(&name) {
                Some(Value::Closure(closure)) => Some(closure.clone()),
                _ => None,
            }
        }

        fn own_instance(&self, env: &Cc<Env>, name: u32) -> Option<Cc<Instance>> {
            match env.vars.borrow().get(&name) {
                Some(Value::Instance(instance)) => Some(instance.clone()),
                _ => None,
            }
        }

        fn closure(&self, parameter: u32, body: u32, env: &Cc<Env>) -> Cc<Closure> {
            Cc::new(Closure {
                parameter,
                body,
                env: env.clone(),
            })
        }

        fn closure_parts(&self, closure: &Cc<Closure>) -> (u32, u32, Cc<Env>) {
            (closure.parameter, closure.body, closure.env.clone())
        }

        fn instance(&self) -> Cc<Instance> {
            Cc::new(Instance {
                fields: RefCell::new(Default::default()),
            })
        }

        fn set_field_number(&self, instance: &Cc<Instance>, name: u32, number: i64) {
            instance
                .fields
                .borrow_mut()
                .insert(name, Value::Number(number));
        }

        fn field_number(&self, instance: &Cc<Instance>, name: u32) -> i64 {
            match instance.fields.borrow().get(&name) {
                Some(Value::Number(number)) => *number,
                _ => unreachable!("the program only reads fields it set"),
            }
        }

        fn bind_method(&self, instance: &Cc<Instance>, name: u32, method: &Cc<Closure>) {
            let bound = Cc::new(Bound {
                receiver: instance.clone(),
                method: method.clone(),
            });
            instance
                .fields
                .borrow_mut()
                .insert(name, Value::Bound(bound));
        }

        fn bound_method(&self, instance: &Cc<Instance>, name: u32) -> (Cc<Instance>, Cc<Closure>) {
            match instance.fields.borrow().get(&name) {
                Some(Value::Bound(bound)) => (bound.receiver.clone(), bound.method.clone()),
                _ => unreachable!("the program only calls methods it bound"),
            }
        }
    }

    pub(super) fn run(iterations: u64) -> u64 {
        super::program(&Interpreter, env(None), iterations, |global| {
            drop(global);
            collect_cycles();
        })
    }
}

/// `dumpster::unsync`: maps behind `RefCell`; it collects automatically.
mod dumpster_unsync {
    use std::collections::HashMap;

    use std::cell::RefCell;

    use dumpster::Trace;
    use dumpster::unsync::{Gc, collect};

    use super::super::cycle_churn::Tally;

    pub(super) static TALLY: Tally = Tally::new();

    #[derive(Trace)]
    enum Value {
        Number(i64),
        Closure(Gc<Closure>),
        Instance(Gc<Instance>),
        Bound(Gc<Bound>),
    }

    #[derive(Trace)]
    pub(super) struct Env {
        vars: RefCell<HashMap<u32, Value>>,
        parent: Option<Gc<Env>>,
    }

    impl Drop for Env {
        fn drop(&mut self) {
            if self.parent.is_some() {
                TALLY.dropped();
            }
        }
    }

    #[derive(Trace)]
    pub(super) struct Closure {
        parameter: u32,
        body: u32,
        env: Gc<Env>,
    }

    #[derive(Trace)]
    pub(super) struct Instance {
        fields: RefCell<HashMap<u32, Value>>,
    }

    #[derive(Trace)]
    pub(super) struct Bound {
        receiver: Gc<Instance>,
        method: Gc<Closure>,
    }

    fn env(parent: Option<Gc<Env>>) -> Gc<Env> {
        if parent.is_some() {
            TALLY.created();
        }
        Gc::new(Env {
            vars: RefCell::new(Default::default()),
            parent,
        })
    }

    struct Interpreter;

    impl super::Interpreter for Interpreter {
        type Env = Gc<Env>;
        type Closure = Gc<Closure>;
        type Instance = Gc<Instance>;

        fn new_env(&self, parent: &Gc<Env>) -> Gc<Env> {
            env(Some(parent.clone()))
        }

        fn parent(&self, env: &Gc<Env>) -> Option<Gc<Env>> {
            env.parent.clone()
        }

        fn define_number(&self, env: &Gc<Env>, name: u32, number: i64) {
            env.vars.borrow_mut().insert(name, Value::Number(number));
        }

        fn define_closure(&self, env: &Gc<Env>, name: u32, closure: &Gc<Closure>) {
            let old = env
                .vars
                .borrow_mut()
                .insert(name, Value::Closure(closure.clone()));
            drop(old);
        }

        fn define_instance(&self, env: &Gc<Env>, name: u32, instance: &Gc<Instance>) {
            env.vars
                .borrow_mut()
                .insert(name, Value::Instance(instance.clone()));
        }

        fn own_number(&self, env: &Gc<Env>, name: u32) -> Option<i64> {
            match env.vars.borrow().get(&name) {
                Some(Value::Number(number)) => Some(*number),
                _ => None,
            }
        }

        fn own_closure(&self, env: &Gc<Env>, name: u32) -> Option<Gc<Closure>> {
            match env.vars.borrow().get(&name) {
                Some(Value::Closure(closure)) => Some(closure.clone()),
                _ => None,
            }
        }

        fn own_instance(&self, env: &Gc<Env>, name: u32) -> Option<Gc<Instance>> {
            match env.vars.borrow().get(&name) {
                Some(Value::Instance(instance)) => Some(instance.clone()),
                _ => None,
            }
        }

        fn closure(&self, parameter: u32, body: u32, env: &Gc<Env>) -> Gc<Closure> {
            Gc::new(Closure {
                parameter,
                body,
                env: env.clone(),
            })
        }

        fn closure_parts(&self, closure: &Gc<Closure>) -> (u32, u32, Gc<Env>) {
            (closure.parameter, closure.body, closure.env.clone())
        }

        fn instance(&self) -> Gc<Instance> {
            Gc::new(Instance {
                fields: RefCell::new(Default::default()),
            })
        }

        fn set_field_number(&self, instance: &Gc<Instance>, name: u32, number: i64) {
            instance
                .fields
                .borrow_mut()
                .insert(name, Value::Number(number));
        }

        fn field_number(&self, instance: &Gc<Instance>, name: u32) -> i64 {
            match instance.fields.borrow().get(&name) {
                Some(Value::Number(number)) => *number,
                _ => unreachable!("the program only reads fields it set"),
            }
        }

        fn bind_method(&self, instance: &Gc<Instance>, name: u32, method: &Gc<Closure>) {
            let bound = Gc::new(Bound {
                receiver: instance.clone(),
                method: method.clone(),
            });
            instance
                .fields
                .borrow_mut()
                .insert(name, Value::Bound(bound));
        }

        fn bound_method(&self, instance: &Gc<Instance>, name: u32) -> (Gc<Instance>, Gc<Closure>) {
            match instance.fields.borrow().get(&name) {
                Some(Value::Bound(bound)) => (bound.receiver.clone(), bound.method.clone()),
                _ => unreachable!("the program only calls methods it bound"),
            }
        }
    }

    pub(super) fn run(iterations: u64) -> u64 {
        super::program(&Interpreter, env(None), iterations, |global| {
            drop(global);
            collect();
        })
    }
}

/// gc-arena: environments and instances are `Gc<RefLock<..>>` (whose `borrow_mut` runs the write
/// barrier), the global environment is the arena's root, every iteration is one `mutate` call, and
/// the arena pays its allocation debt after each. At the end the global's variables are cleared,
/// the current cycle is finished and one full cycle is run.
mod gc_arena_crate {
    use std::collections::HashMap;

    use gc_arena::arena::CollectionPhase;
    use gc_arena::{Arena, Collect, Gc, Mutation, RefLock, Rootable};

    use super::super::cycle_churn::Tally;

    pub(super) static TALLY: Tally = Tally::new();

    #[derive(Collect, Clone, Copy)]
    #[collect(no_drop)]
    enum Value<'gc> {
        Number(i64),
        Closure(Gc<'gc, Closure<'gc>>),
        Instance(InstancePtr<'gc>),
        Bound(Gc<'gc, Bound<'gc>>),
    }

    // `unsafe_drop` because of the counting `Drop` below, which touches no `Gc` pointer (the only
    // thing gc-arena forbids a destructor to do).
    #[derive(Collect)]
    #[collect(unsafe_drop)]
    struct Env<'gc> {
        vars: HashMap<u32, Value<'gc>>,
        parent: Option<EnvPtr<'gc>>,
    }

    impl Drop for Env<'_> {
        fn drop(&mut self) {
            if self.parent.is_some() {
                TALLY.dropped();
            }
        }
    }

    type EnvPtr<'gc> = Gc<'gc, RefLock<Env<'gc>>>;

    #[derive(Collect)]
    #[collect(no_drop)]
    struct Closure<'gc> {
        parameter: u32,
        body: u32,
        env: EnvPtr<'gc>,
    }

    type InstancePtr<'gc> = Gc<'gc, RefLock<HashMap<u32, Value<'gc>>>>;

    #[derive(Collect)]
    #[collect(no_drop)]
    struct Bound<'gc> {
        receiver: InstancePtr<'gc>,
        method: Gc<'gc, Closure<'gc>>,
    }

    fn env<'gc>(mc: &Mutation<'gc>, parent: Option<EnvPtr<'gc>>) -> EnvPtr<'gc> {
        if parent.is_some() {
            TALLY.created();
        }
        Gc::new(
            mc,
            RefLock::new(Env {
                vars: HashMap::new(),
                parent,
            }),
        )
    }

    /// The values of one `mutate` call.
    struct Interpreter<'gc> {
        mc: &'gc Mutation<'gc>,
    }

    impl<'gc> super::Interpreter for Interpreter<'gc> {
        type Env = EnvPtr<'gc>;
        type Closure = Gc<'gc, Closure<'gc>>;
        type Instance = InstancePtr<'gc>;

        fn new_env(&self, parent: &EnvPtr<'gc>) -> EnvPtr<'gc> {
            env(self.mc, Some(*parent))
        }

        fn parent(&self, env: &EnvPtr<'gc>) -> Option<EnvPtr<'gc>> {
            env.borrow().parent
        }

        fn define_number(&self, env: &EnvPtr<'gc>, name: u32, number: i64) {
            env.borrow_mut(self.mc)
                .vars
                .insert(name, Value::Number(number));
        }

        fn define_closure(&self, env: &EnvPtr<'gc>, name: u32, closure: &Gc<'gc, Closure<'gc>>) {
            env.borrow_mut(self.mc)
                .vars
                .insert(name, Value::Closure(*closure));
        }

        fn define_instance(&self, env: &EnvPtr<'gc>, name: u32, instance: &InstancePtr<'gc>) {
            env.borrow_mut(self.mc)
                .vars
                .insert(name, Value::Instance(*instance));
        }

        fn own_number(&self, env: &EnvPtr<'gc>, name: u32) -> Option<i64> {
            match env.borrow().vars.get(&name) {
                Some(Value::Number(number)) => Some(*number),
                _ => None,
            }
        }

        fn own_closure(&self, env: &EnvPtr<'gc>, name: u32) -> Option<Gc<'gc, Closure<'gc>>> {
            match env.borrow().vars.get(&name) {
                Some(Value::Closure(closure)) => Some(*closure),
                _ => None,
            }
        }

        fn own_instance(&self, env: &EnvPtr<'gc>, name: u32) -> Option<InstancePtr<'gc>> {
            match env.borrow().vars.get(&name) {
                Some(Value::Instance(instance)) => Some(*instance),
                _ => None,
            }
        }

        fn closure(&self, parameter: u32, body: u32, env: &EnvPtr<'gc>) -> Gc<'gc, Closure<'gc>> {
            Gc::new(
                self.mc,
                Closure {
                    parameter,
                    body,
                    env: *env,
                },
            )
        }

        fn closure_parts(&self, closure: &Gc<'gc, Closure<'gc>>) -> (u32, u32, EnvPtr<'gc>) {
            (closure.parameter, closure.body, closure.env)
        }

        fn instance(&self) -> InstancePtr<'gc> {
            Gc::new(self.mc, RefLock::new(HashMap::new()))
        }

        fn set_field_number(&self, instance: &InstancePtr<'gc>, name: u32, number: i64) {
            instance
                .borrow_mut(self.mc)
                .insert(name, Value::Number(number));
        }

        fn field_number(&self, instance: &InstancePtr<'gc>, name: u32) -> i64 {
            match instance.borrow().get(&name) {
                Some(Value::Number(number)) => *number,
                _ => unreachable!("the program only reads fields it set"),
            }
        }

        fn bind_method(
            &self,
            instance: &InstancePtr<'gc>,
            name: u32,
            method: &Gc<'gc, Closure<'gc>>,
        ) {
            let bound = Gc::new(
                self.mc,
                Bound {
                    receiver: *instance,
                    method: *method,
                },
            );
            instance
                .borrow_mut(self.mc)
                .insert(name, Value::Bound(bound));
        }

        fn bound_method(
            &self,
            instance: &InstancePtr<'gc>,
            name: u32,
        ) -> (InstancePtr<'gc>, Gc<'gc, Closure<'gc>>) {
            match instance.borrow().get(&name) {
                Some(Value::Bound(bound)) => (bound.receiver, bound.method),
                _ => unreachable!("the program only calls methods it bound"),
            }
        }
    }

    /// The arena's root: the global environment.
    type Global = Rootable![EnvPtr<'_>];

    pub(super) fn run(iterations: u64) -> u64 {
        let mut arena = Arena::<Global>::new(|mc| env(mc, None));
        let mut results = 0u64;
        for index in 0..iterations {
            let result =
                arena.mutate(|mc, global| super::iteration(&Interpreter { mc }, global, index));
            results = results.wrapping_add(result);
            arena.collect_debt();
        }
        arena.mutate(|mc, global| global.borrow_mut(mc).vars.clear());
        if arena.collection_phase() != CollectionPhase::Sleeping {
            arena.finish_cycle();
        }
        arena.finish_cycle();
        super::checksum(results, iterations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: u64 = 300;

    #[test]
    fn every_implementation_computes_the_same_results() {
        let expected = janitor_heap::run(TINY);
        assert_eq!(janitor_unsync_heap::run(TINY), expected);
        assert_eq!(rc::run(TINY), expected);
        assert_eq!(gc_crate::run(TINY), expected);
        assert_eq!(rust_cc_crate::run(TINY), expected);
        assert_eq!(dumpster_unsync::run(TINY), expected);
        assert_eq!(gc_arena_crate::run(TINY), expected);
    }

    #[test]
    fn the_collectors_drop_every_environment_and_rc_leaks_them() {
        let workload = workload(Scale::Smoke);
        for case in &workload.cases {
            let note = case.run().note;
            match case.implementation {
                "rc" => assert!(note.unwrap().starts_with("leaks cycles")),
                "janitor" | "janitor-unsync" => {
                    assert!(!note.unwrap().contains("not reclaimed"))
                }
                other => assert_eq!(note, None, "{other}"),
            }
        }
    }

    #[test]
    fn a_call_reads_x_of_its_defining_frame_through_the_chain_of_environments() {
        // Iteration i: closure k called with k returns i + k + k; the method (closure 0) called
        // with 1 on an instance whose field is i % 7 returns i + 1 + 0 + i % 7. Five environments
        // per iteration.
        assert_eq!(rc::run(1), (2 + 4) + 1 + 5);
        assert_eq!(rc::run(2), 12 + (1 + 3 + 5) + 3 + 5);
    }
}
