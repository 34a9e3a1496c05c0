//! Finalizable values that a field's own `TraceMeta` cannot report: the types named inside a
//! `#[trace(skip)]` field (whose type need not be `Trace` at all), and the types named inside an
//! `Arc` or `Rc` of a traced field (whose `TraceMeta` reports nothing of what it shares).
//!
//! A value held there is not an object of its own, so it would never be finalized. The derived
//! `FINALIZER` hook refuses it when evaluated, as it refuses a finalizable traced field, naming the
//! field: for each type found here it asks `janitor::gc::__private::FinalizableProbe`, whose
//! inherent constant exists only for a type that implements `Finalize` or `unsync::Finalize`.
//!
//! The walk follows the types that hold values: path arguments in angle brackets, tuples, arrays
//! and slices. It stops at what holds no value of the types it names (references, pointers,
//! function types, trait objects, `PhantomData`) and at `Gc` and `WeakGc`, whose targets are
//! objects of their own. The probe is exact for a concrete type and says "not finalizable" for one
//! that mentions a type parameter (stable Rust has no specialization): the documentation of
//! `Finalize` says so.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{GenericArgument, LitStr, PathArguments, Type};

/// Where in a field a finalizable value is out of the field's `TraceMeta`'s sight.
#[derive(Clone, Copy)]
pub(crate) enum Hiding {
    /// The field is `#[trace(skip)]`, or in a variant so marked.
    Skipped,
    /// The field is traced: only what an `Arc` or `Rc` shares is hidden.
    Traced,
}

/// One field's refusal: the types to probe, and the message that names the field.
pub(crate) struct HiddenFinalizable {
    probes: Vec<Type>,
    message: String,
}

impl HiddenFinalizable {
    /// The types in `ty` (the type of the field called `field` of `owner`) that could hide a
    /// finalizable value, or `None` when there are none.
    pub(crate) fn of(ty: &Type, hiding: Hiding, field: &str, owner: &str) -> Option<Self> {
        let mut probes = Vec::new();
        walk(ty, matches!(hiding, Hiding::Skipped), &mut probes);
        if probes.is_empty() {
            return None;
        }
        let place = match hiding {
            Hiding::Skipped => "in a `#[trace(skip)]` field",
            Hiding::Traced => "inside an `Arc` or `Rc`",
        };
        let message = format!(
            "{field} of `{owner}` holds a value of a finalizable type {place}, where it would never \
             be finalized, since only an object's own value is: hold it as a `Gc<T>` (or an \
             `unsync::Gc<T>` on the thread-local heap), so that it is an object of its own"
        );
        Some(Self { probes, message })
    }

    /// The statement, for the derived `FINALIZER` hook, that panics while the hook is evaluated if
    /// one of the probed types is finalizable on either heap.
    pub(crate) fn refusal(&self) -> TokenStream {
        let asks = self.probes.iter().map(|ty| {
            quote_spanned! {ty.span()=>
                || ::janitor::gc::__private::FinalizableProbe::<#ty>::SHARED_FINALIZABLE
                || ::janitor::gc::__private::FinalizableProbe::<#ty>::LOCAL_FINALIZABLE
            }
        });
        let message = LitStr::new(&self.message, proc_macro2::Span::call_site());
        quote! {
            {
                use ::janitor::gc::__private::NotFinalizable as _;
                if false #(#asks)* {
                    ::core::panic!(#message);
                }
            }
        }
    }
}

/// Pushes the types in `ty` that could hide a finalizable value: when `held`, `ty` itself and every
/// type a value of it holds by value; otherwise only those held inside an `Arc` or `Rc` it holds.
fn walk(ty: &Type, held: bool, probes: &mut Vec<Type>) {
    match ty {
        Type::Path(path) => {
            let Some(last) = path.path.segments.last() else {
                return;
            };
            if holds_no_value_of_its_arguments(&last.ident) {
                return;
            }
            if held {
                probes.push(ty.clone());
            }
            if path.qself.is_some() {
                return;
            }
            let held = held || last.ident == "Arc" || last.ident == "Rc";
            for argument in type_arguments(&last.arguments) {
                walk(argument, held, probes);
            }
        }
        Type::Tuple(tuple) => tuple.elems.iter().for_each(|elem| walk(elem, held, probes)),
        Type::Array(array) => walk(&array.elem, held, probes),
        Type::Slice(slice) => walk(&slice.elem, held, probes),
        Type::Paren(inner) => walk(&inner.elem, held, probes),
        Type::Group(inner) => walk(&inner.elem, held, probes),
        _ => {}
    }
}

/// Whether a type of this name holds no value of its type arguments by value: a `Gc` or `WeakGc`
/// points to an object of its own, a `PhantomData` holds nothing.
fn holds_no_value_of_its_arguments(name: &syn::Ident) -> bool {
    ["Gc", "WeakGc", "PhantomData"]
        .iter()
        .any(|pointer| name == pointer)
}

/// The type arguments in a path segment's angle brackets.
fn type_arguments(arguments: &PathArguments) -> impl Iterator<Item = &Type> {
    let arguments = match arguments {
        PathArguments::AngleBracketed(bracketed) => Some(bracketed.args.iter()),
        _ => None,
    };
    arguments
        .into_iter()
        .flatten()
        .filter_map(|argument| match argument {
            GenericArgument::Type(ty) => Some(ty),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probes(source: &str, hiding: Hiding) -> Vec<String> {
        let ty: Type = syn::parse_str(source).unwrap();
        HiddenFinalizable::of(&ty, hiding, "field `x`", "S")
            .map(|found| {
                found
                    .probes
                    .iter()
                    .map(|ty| quote!(#ty).to_string().replace(' ', ""))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn a_skipped_field_probes_every_type_it_holds_by_value() {
        assert_eq!(
            probes("Option<(Vec<Res>, [Other; 2])>", Hiding::Skipped),
            ["Option<(Vec<Res>,[Other;2])>", "Vec<Res>", "Res", "Other"]
        );
    }

    #[test]
    fn a_skipped_field_does_not_probe_behind_gc_references_or_functions() {
        assert!(probes("Gc<Res>", Hiding::Skipped).is_empty());
        assert!(probes("janitor::gc::WeakGc<Res>", Hiding::Skipped).is_empty());
        assert!(probes("PhantomData<Res>", Hiding::Skipped).is_empty());
        assert!(probes("&'static Res", Hiding::Skipped).is_empty());
        assert!(probes("fn(Res) -> Res", Hiding::Skipped).is_empty());
        assert_eq!(probes("Vec<Gc<Res>>", Hiding::Skipped), ["Vec<Gc<Res>>"]);
    }

    #[test]
    fn a_traced_field_probes_only_what_an_arc_or_rc_shares() {
        assert!(probes("Vec<Res>", Hiding::Traced).is_empty());
        assert_eq!(
            probes("Vec<std::sync::Arc<Option<Res>>>", Hiding::Traced),
            ["Option<Res>", "Res"]
        );
        assert_eq!(probes("(u8, Rc<Res>)", Hiding::Traced), ["Res"]);
        assert!(probes("Gc<Arc<Res>>", Hiding::Traced).is_empty());
    }
}
