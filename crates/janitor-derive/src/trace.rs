//! `#[derive(Trace)]`: an implementation of `janitor::gc::Trace` that traces every field once.
//!
//! The generated `trace` destructures `self` and calls `Trace::trace` on each field not marked
//! `#[trace(skip)]` and not in a variant marked `#[trace(skip)]` whose type can hold a `Gc`
//! (`TraceMeta::HOLDS_GC`: the others report nothing); the `TraceMeta` impl beside it
//! has the constants `HOLDS_GC` and `MUTABLE_EDGES`, the OR of the traced fields' (with the type
//! itself left out of them: see `without_itself`). The
//! implementation is sound by construction: a value owns its fields, and each is reported once; a
//! skipped field is an edge missed, which the collector treats as held from outside (safe: at
//! worst a cycle through it leaks).
//!
//! Bounds: only what the traced fields need (see [`Bounds`]). A bound the derive leaves out can
//! only make the generated impl fail to compile, never make it unsound: the compiler checks every
//! `Trace` call against the impl's where clause.
//!
//! `#[trace(finalize)]` on the type adds the finalizer hook (`FINALIZER`, which only compiles if
//! the type implements `Finalize`) and implements `FinalizerRegistered` (which `Finalize`
//! requires): registration cannot be forgotten in either direction. Every derived `FINALIZER`
//! refuses, when evaluated, a traced field whose type has a finalizer: stored by value, it would
//! never be finalized. A field that holds one deeper (`Vec<Option<T>>`) is refused by the
//! containers' own hooks, which the field's evaluates. `#[trace(unsync_finalize)]` does the same for the thread-local heap
//! (`UNSYNC_FINALIZER` on the `TraceMeta` impl, which only compiles if the type implements
//! `unsync::Finalize`, and `unsync::FinalizerRegistered`); every derived `UNSYNC_FINALIZER`
//! refuses a traced field whose type has one. What no field's `TraceMeta` can see (a finalizable
//! value in a skipped field, or shared by an `Arc` or `Rc`) is refused by the same hook, naming
//! the field (`hidden_finalizable.rs`).

use crate::hidden_finalizable::{HiddenFinalizable, Hiding};
use proc_macro2::{Ident, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::visit_mut::{self, VisitMut};
use syn::{Data, DeriveInput, Fields, Type, TypePath, WherePredicate};

pub(crate) fn derive(input: TokenStream) -> TokenStream {
    match syn::parse2::<DeriveInput>(input).and_then(expand) {
        Ok(tokens) => tokens,
        Err(error) => error.to_compile_error(),
    }
}

fn expand(input: DeriveInput) -> syn::Result<TokenStream> {
    let (finalize, unsync_finalize) = type_options(&input.attrs)?;
    let mut traced_types = Vec::new();
    let mut hidden = Vec::new();
    let owner = input.ident.to_string();
    let body = match &input.data {
        Data::Struct(data) => {
            let (pattern, calls) = destructure(
                &data.fields,
                quote!(Self),
                (&owner, None),
                &mut traced_types,
                &mut hidden,
            )?;
            quote! { let #pattern = self; #calls }
        }
        Data::Enum(data) => {
            let mut arms = Vec::new();
            for variant in &data.variants {
                let name = &variant.ident;
                if is_skipped(&variant.attrs, Place::Variant)? {
                    for (index, field) in variant.fields.iter().enumerate() {
                        // Read for their errors: a misspelt option is refused everywhere.
                        is_skipped(&field.attrs, Place::Field)?;
                        hidden.extend(HiddenFinalizable::of(
                            &field.ty,
                            Hiding::Skipped,
                            &field_name(field, index, Some(name)),
                            &owner,
                        ));
                    }
                    arms.push(quote! { Self::#name { .. } => {} });
                    continue;
                }
                let (pattern, calls) = destructure(
                    &variant.fields,
                    quote!(Self::#name),
                    (&owner, Some(name)),
                    &mut traced_types,
                    &mut hidden,
                )?;
                arms.push(quote! { #pattern => { #calls } });
            }
            if arms.is_empty() {
                quote! { match *self {} }
            } else {
                quote! { match self { #(#arms)* } }
            }
        }
        Data::Union(data) => {
            return Err(syn::Error::new_spanned(
                data.union_token,
                "Trace cannot be derived for a union: which field is live is unknown; implement it by hand",
            ));
        }
    };
    let mut generics = input.generics.clone();
    let bounds = Bounds::of(&input.generics, &traced_types).predicates();
    generics.make_where_clause().predicates.extend(bounds);
    let name = &input.ident;
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    // Reported beside the impls, which stay whole, so that it is the only error.
    let holds_itself_error = traced_types
        .iter()
        .find(|ty| (finalize || unsync_finalize) && holds_itself(ty, name))
        .map(|field| {
            syn::Error::new_spanned(
                field,
                "a finalizable type that holds values of itself by value would never finalize \
                 them, since only an object's own value is: hold them as `Gc<Self>` (or \
                 `unsync::Gc<Self>`), each an object of its own",
            )
            .to_compile_error()
        });
    // The constants are computed over the field types with the type itself left out (see
    // `without_itself`), so that a recursive type's constants do not depend on themselves.
    let meta_types: Vec<Type> = traced_types
        .iter()
        .map(|ty| without_itself(ty, name, &type_generics.to_token_stream().to_string()))
        .collect();
    // A finalizable value stored by value in a traced field is never finalized (only an object's
    // own type is): the hook refuses it when evaluated, which is where the type is allocated.
    let finalizable_fields = meta_types.iter().map(
        |ty| quote_spanned!(ty.span()=> || <#ty as ::janitor::gc::TraceMeta>::FINALIZER.is_some()),
    );
    let own_hook = if finalize {
        quote!(::core::option::Option::Some(::janitor::gc::Finalizer::of()))
    } else {
        quote!(::core::option::Option::None)
    };
    let hidden_refusals = hidden.iter().map(HiddenFinalizable::refusal);
    let hook = quote! {
        const FINALIZER: ::core::option::Option<::janitor::gc::Finalizer<Self>> = {
            #(#hidden_refusals)*
            if false #(#finalizable_fields)* {
                ::core::panic!(
                    "a finalizable type stored by value in a field of another type would never be \
                     finalized, since only an object's own type is: make the field a `Gc<T>`, so \
                     that the finalizable value is an object of its own"
                );
            }
            #own_hook
        };
    };
    let registered = if finalize {
        quote! {
            // SAFETY: generated together with the `FINALIZER` hook above.
            #[automatically_derived]
            unsafe impl #impl_generics ::janitor::gc::FinalizerRegistered for #name #type_generics #where_clause {}
        }
    } else {
        quote! {}
    };
    // The same refusal for the thread-local heap's hook, which `unsync::Gc::new` reads.
    let unsync_finalizable_fields = meta_types.iter().map(|ty| {
        quote_spanned!(ty.span()=> || <#ty as ::janitor::gc::TraceMeta>::UNSYNC_FINALIZER.is_some())
    });
    let own_unsync_hook = if unsync_finalize {
        quote!(::core::option::Option::Some(
            ::janitor::gc::unsync::Finalizer::of()
        ))
    } else {
        quote!(::core::option::Option::None)
    };
    let unsync_hook = quote! {
        const UNSYNC_FINALIZER: ::core::option::Option<::janitor::gc::unsync::Finalizer<Self>> = {
            if false #(#unsync_finalizable_fields)* {
                ::core::panic!(
                    "a finalizable type stored by value in a field of another type would never be \
                     finalized, since only an object's own type is: make the field an \
                     `unsync::Gc<T>`, so that the finalizable value is an object of its own"
                );
            }
            #own_unsync_hook
        };
    };
    let unsync_registered = if unsync_finalize {
        quote! {
            // SAFETY: generated together with the `UNSYNC_FINALIZER` hook above.
            #[automatically_derived]
            unsafe impl #impl_generics ::janitor::gc::unsync::FinalizerRegistered for #name #type_generics #where_clause {}
        }
    } else {
        quote! {}
    };
    // Spanned at each field's type, so that a field whose type is not `Trace` is the error's
    // location, not the derive.
    let holds_gc = meta_types
        .iter()
        .map(|ty| quote_spanned!(ty.span()=> || <#ty as ::janitor::gc::TraceMeta>::HOLDS_GC));
    let mutable_edges = meta_types
        .iter()
        .map(|ty| quote_spanned!(ty.span()=> || <#ty as ::janitor::gc::TraceMeta>::MUTABLE_EDGES));
    Ok(quote! {
        // SAFETY: generated: every field not marked `#[trace(skip)]` (nor in a variant so marked)
        // is traced once, and the value owns its fields.
        #[automatically_derived]
        unsafe impl #impl_generics ::janitor::gc::Trace for #name #type_generics #where_clause {
            #[inline]
            #[allow(unused_variables)]
            fn trace(&self, tracer: &mut ::janitor::gc::Tracer<'_>) {
                #body
            }
        }
        // SAFETY: generated: the constants are the OR of the traced fields' own.
        #[automatically_derived]
        unsafe impl #impl_generics ::janitor::gc::TraceMeta for #name #type_generics #where_clause {
            const HOLDS_GC: bool = false #(#holds_gc)*;
            const MUTABLE_EDGES: bool = false #(#mutable_edges)*;
            #hook
            #unsync_hook
        }
        #registered
        #unsync_registered
        #holds_itself_error
    })
}

/// The where clause the traced fields need, the same on the `Trace` and the `TraceMeta` impl:
/// `P: TraceMeta` (which implies `Trace`) for each type parameter `P` a traced field uses, and
/// `P::Name: TraceMeta` for each associated type it uses (then `P` itself needs nothing).
/// A parameter used only by skipped fields, or only inside a `Gc<..>`, `WeakGc<..>` or
/// `PhantomData<..>` (which are `Trace` whatever they point to or mark: the collector follows
/// the pointer, not the type, and a marker owns nothing), gets no bound. Those three are
/// recognised by name; under another name (an alias) the parameter is bounded, which is only
/// stricter.
struct Bounds<'a> {
    parameters: Vec<&'a Ident>,
    used: Vec<bool>,
    projections: Vec<Type>,
}

impl<'a> Bounds<'a> {
    fn of(generics: &'a syn::Generics, traced_types: &[Type]) -> Self {
        let parameters: Vec<&Ident> = generics.type_params().map(|param| &param.ident).collect();
        let mut bounds = Bounds {
            used: vec![false; parameters.len()],
            parameters,
            projections: Vec::new(),
        };
        for ty in traced_types {
            bounds.visit_type(ty);
        }
        bounds
    }

    fn predicates(self) -> Vec<WherePredicate> {
        let parameters = self
            .parameters
            .into_iter()
            .zip(self.used)
            .filter(|(_, used)| *used)
            .map(|(parameter, _)| syn::parse_quote!(#parameter: ::janitor::gc::TraceMeta));
        let projections = self
            .projections
            .into_iter()
            .map(|ty| syn::parse_quote!(#ty: ::janitor::gc::TraceMeta));
        parameters.chain(projections).collect()
    }

    fn parameter(&self, ident: &Ident) -> Option<usize> {
        self.parameters.iter().position(|param| *param == ident)
    }

    fn mentions_parameter(&self, tokens: TokenStream) -> bool {
        tokens.into_iter().any(|token| match token {
            TokenTree::Ident(ident) => self.parameter(&ident).is_some(),
            TokenTree::Group(group) => self.mentions_parameter(group.stream()),
            TokenTree::Punct(_) | TokenTree::Literal(_) => false,
        })
    }

    fn bound_whole(&mut self, ty: Type) {
        let text = ty.to_token_stream().to_string();
        if !self
            .projections
            .iter()
            .any(|known| known.to_token_stream().to_string() == text)
        {
            self.projections.push(ty);
        }
    }
}

impl<'ast> Visit<'ast> for Bounds<'_> {
    fn visit_type(&mut self, ty: &'ast Type) {
        match ty {
            // Its expansion is unknown: bound the type as written if it names a parameter.
            Type::Macro(_) => {
                if self.mentions_parameter(ty.to_token_stream()) {
                    self.bound_whole(ty.clone());
                }
            }
            _ => visit::visit_type(self, ty),
        }
    }

    fn visit_type_path(&mut self, ty: &'ast TypePath) {
        let path = &ty.path;
        let projection = match &ty.qself {
            Some(qself) => self.mentions_parameter(qself.ty.to_token_stream()),
            None => {
                path.leading_colon.is_none()
                    && path.segments.len() > 1
                    && self.parameter(&path.segments[0].ident).is_some()
            }
        };
        if projection {
            self.bound_whole(Type::Path(ty.clone()));
            return;
        }
        if ty.qself.is_none() && needs_nothing_of_its_argument(path) {
            return;
        }
        visit::visit_type_path(self, ty);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none()
            && path.segments.len() == 1
            && let Some(index) = self.parameter(&path.segments[0].ident)
        {
            self.used[index] = true;
        }
        visit::visit_path(self, path);
    }
}

/// `ty` with each mention of the type being derived (`Self`, or its name as a path of one segment,
/// which in the type's own module can only be itself, with its own generic `arguments` as
/// written) replaced by `()`. Another instance of the type (`Wrap<Gc<T>>` inside `Wrap<T>`) is
/// left alone: its constants are not the same unknowns, and such a type gets the compiler's
/// cycle error rather than a wrong answer. A derived constant is the
/// OR of its traced fields' constants, so a field that holds the type itself (`children:
/// Vec<Tree>`) would make the constant depend on itself, a cycle the compiler refuses. The least
/// answer to that equation is the one with the type's own constants false, and `()` (a leaf:
/// every constant false) gives it: a value holds a `Gc`, or a cell, only through a field that
/// is not the type itself, however deep the recursion. Inside a `Gc`, `WeakGc` or `PhantomData`
/// nothing is replaced: their constants do not read their argument's, so there is no cycle, and
/// a field type left as written keeps its errors about the type the user wrote.
fn without_itself(ty: &Type, name: &Ident, arguments: &str) -> Type {
    struct Replace<'a>(&'a Ident, &'a str);
    impl VisitMut for Replace<'_> {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::Path(path) = ty {
                if is_itself(path, self.0)
                    && (path.path.segments[0].ident == "Self"
                        || path.path.segments[0]
                            .arguments
                            .to_token_stream()
                            .to_string()
                            == self.1)
                {
                    *ty = syn::parse_quote!(());
                    return;
                }
                if path.qself.is_none() && needs_nothing_of_its_argument(&path.path) {
                    return;
                }
            }
            visit_mut::visit_type_mut(self, ty);
        }
    }
    let mut ty = ty.clone();
    Replace(name, arguments).visit_type_mut(&mut ty);
    ty
}

/// Whether a field of type `ty` holds a value of the type being derived by value: a mention of it
/// anywhere but inside a `Gc<..>`, `WeakGc<..>` or `PhantomData<..>`.
fn holds_itself(ty: &Type, name: &Ident) -> bool {
    struct Find<'a> {
        name: &'a Ident,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Find<'_> {
        fn visit_type_path(&mut self, ty: &'ast TypePath) {
            if is_itself(ty, self.name) {
                self.found = true;
            } else if ty.qself.is_some() || !needs_nothing_of_its_argument(&ty.path) {
                visit::visit_type_path(self, ty);
            }
        }
    }
    let mut find = Find { name, found: false };
    find.visit_type(ty);
    find.found
}

/// Whether `ty` is `Self` or the type's name alone (with any generic arguments).
fn is_itself(ty: &TypePath, name: &Ident) -> bool {
    ty.qself.is_none()
        && ty.path.leading_colon.is_none()
        && ty.path.segments.len() == 1
        && (ty.path.segments[0].ident == *name || ty.path.segments[0].ident == "Self")
}

/// Whether `path` names `Gc<..>`, `WeakGc<..>` or `PhantomData<..>`, whose `Trace` needs nothing
/// of its argument.
fn needs_nothing_of_its_argument(path: &syn::Path) -> bool {
    path.segments.last().is_some_and(|last| {
        (last.ident == "Gc" || last.ident == "WeakGc" || last.ident == "PhantomData")
            && matches!(last.arguments, syn::PathArguments::AngleBracketed(_))
    })
}

/// Where a `#[trace(..)]` attribute sits, for its error messages.
#[derive(Clone, Copy)]
enum Place {
    Field,
    Variant,
}

/// Reads the type's `#[trace(..)]` attributes; returns whether it carries `#[trace(finalize)]`, and
/// whether `#[trace(unsync_finalize)]`.
fn type_options(attributes: &[syn::Attribute]) -> syn::Result<(bool, bool)> {
    let mut finalize = false;
    let mut unsync_finalize = false;
    for attribute in attributes
        .iter()
        .filter(|attribute| attribute.path().is_ident("trace"))
    {
        attribute.parse_nested_meta(|meta| {
            if meta.path.is_ident("finalize") {
                finalize = true;
                Ok(())
            } else if meta.path.is_ident("unsync_finalize") {
                unsync_finalize = true;
                Ok(())
            } else if meta.path.is_ident("skip") {
                Err(meta.error(
                    "`#[trace(skip)]` goes on a field or an enum variant, not on the type; \
                     to trace nothing, mark every field `#[trace(skip)]`",
                ))
            } else {
                Err(meta.error(
                    "unknown trace option on a type: the options are `#[trace(finalize)]` and \
                     `#[trace(unsync_finalize)]`",
                ))
            }
        })?;
    }
    Ok((finalize, unsync_finalize))
}

/// A pattern binding the traced fields, and the calls that trace them. Pushes the traced fields'
/// types onto `traced_types`, and onto `hidden` the finalizable values the fields' `TraceMeta`
/// cannot see. `(owner, variant)` names the type, and the variant the fields are in.
fn destructure(
    fields: &Fields,
    path: TokenStream,
    (owner, variant): (&str, Option<&Ident>),
    traced_types: &mut Vec<Type>,
    hidden: &mut Vec<HiddenFinalizable>,
) -> syn::Result<(TokenStream, TokenStream)> {
    let mut bindings = Vec::new();
    let mut calls = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        let binding = format_ident!("field_{index}");
        let skipped = is_skipped(&field.attrs, Place::Field)?;
        hidden.extend(HiddenFinalizable::of(
            &field.ty,
            if skipped {
                Hiding::Skipped
            } else {
                Hiding::Traced
            },
            &field_name(field, index, variant),
            owner,
        ));
        if skipped {
            bindings.push((field, None));
            continue;
        }
        traced_types.push(field.ty.clone());
        let ty = &field.ty;
        // A field that cannot hold a `Gc` is not walked. Asking `TraceMeta` of the field here, as
        // the `TraceMeta` impl's constants do, also makes a field type that has neither trait
        // one error (`TraceMeta` implies `Trace`, and rustc reports only the stronger of two
        // errors at one place) instead of one for `Trace` and one for `TraceMeta`.
        calls.push(quote_spanned! {ty.span()=>
            if <#ty as ::janitor::gc::TraceMeta>::HOLDS_GC {
                <#ty as ::janitor::gc::Trace>::trace(#binding, tracer);
            }
        });
        bindings.push((field, Some(binding)));
    }
    let pattern = match fields {
        Fields::Named(_) => {
            let bound = bindings.iter().filter_map(|(field, binding)| {
                let name = field.ident.as_ref()?;
                binding.as_ref().map(|binding| quote!(#name: #binding))
            });
            quote!(#path { #(#bound,)* .. })
        }
        Fields::Unnamed(_) => {
            let bound = bindings.iter().map(|(_, binding)| match binding {
                Some(binding) => quote!(#binding),
                None => quote!(_),
            });
            quote!(#path ( #(#bound),* ))
        }
        Fields::Unit => quote!(#path),
    };
    Ok((pattern, quote!(#(#calls)*)))
}

/// How an error names a field: "field `name`", "field `0`", or "field `name` of variant `V`".
fn field_name(field: &syn::Field, index: usize, variant: Option<&Ident>) -> String {
    let field = match &field.ident {
        Some(name) => format!("field `{name}`"),
        None => format!("field `{index}`"),
    };
    match variant {
        Some(variant) => format!("{field} of variant `{variant}`"),
        None => field,
    }
}

/// Whether a field's or a variant's attributes carry `#[trace(skip)]`.
fn is_skipped(attributes: &[syn::Attribute], place: Place) -> syn::Result<bool> {
    let mut skipped = false;
    for attribute in attributes
        .iter()
        .filter(|attribute| attribute.path().is_ident("trace"))
    {
        attribute.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
                    return Err(
                        meta.error("`#[trace(skip)]` takes no value: write `#[trace(skip)]`")
                    );
                }
                skipped = true;
                Ok(())
            } else if meta.path.is_ident("finalize") {
                Err(meta.error(match place {
                    Place::Field => "`#[trace(finalize)]` goes on the type, not on a field",
                    Place::Variant => "`#[trace(finalize)]` goes on the type, not on a variant",
                }))
            } else {
                Err(meta.error(match place {
                    Place::Field => {
                        "unknown trace option on a field: the only one is `#[trace(skip)]`"
                    }
                    Place::Variant => {
                        "unknown trace option on a variant: the only one is `#[trace(skip)]`"
                    }
                }))
            }
        })?;
    }
    Ok(skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The where clause of the `Trace` impl derived for `source`, one predicate a string.
    fn bounds(source: &str) -> Vec<String> {
        let input = syn::parse_str::<DeriveInput>(source).unwrap();
        let output: syn::File = syn::parse2(expand(input).unwrap()).unwrap();
        let syn::Item::Impl(item) = &output.items[0] else {
            panic!("the first item is the Trace impl");
        };
        item.generics
            .where_clause
            .iter()
            .flat_map(|clause| clause.predicates.iter())
            .map(|predicate| predicate.to_token_stream().to_string())
            .collect()
    }

    fn trace_bound(ty: TokenStream) -> String {
        quote!(#ty: ::janitor::gc::TraceMeta).to_string()
    }

    #[test]
    fn a_parameter_of_a_traced_field_is_bounded_and_one_of_a_skipped_field_is_not() {
        assert_eq!(
            bounds("struct S<T, M> { a: Vec<Option<T>>, #[trace(skip)] b: M }"),
            [trace_bound(quote!(T))]
        );
    }

    #[test]
    fn a_parameter_used_only_inside_gc_or_weak_gc_is_not_bounded() {
        assert_eq!(
            bounds("struct N<T, U> { next: Option<Gc<N<T, U>>>, back: janitor::gc::WeakGc<U> }"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_parameter_used_only_inside_phantom_data_is_not_bounded() {
        assert_eq!(
            bounds("struct Id<T> { marker: std::marker::PhantomData<T>, next: Option<Gc<u8>> }"),
            Vec::<String>::new()
        );
        assert_eq!(
            bounds("struct Typed<T, U> { marker: PhantomData<fn(T)>, value: U }"),
            [trace_bound(quote!(U))]
        );
    }

    #[test]
    fn a_pointer_under_another_name_bounds_its_parameter() {
        assert_eq!(
            bounds("struct S<T> { x: Ptr<T> }"),
            [trace_bound(quote!(T))]
        );
    }

    #[test]
    fn an_associated_type_is_bounded_instead_of_its_parameter() {
        assert_eq!(
            bounds("struct P<I: Iterator> { head: Option<I::Item>, #[trace(skip)] rest: I }"),
            [trace_bound(quote!(I::Item))]
        );
        assert_eq!(
            bounds("struct Q<I> { x: <I as IntoIterator>::Item, y: <I as IntoIterator>::Item }"),
            [trace_bound(quote!(<I as IntoIterator>::Item))]
        );
    }

    #[test]
    fn a_macro_type_that_names_a_parameter_is_bounded_whole() {
        assert_eq!(
            bounds("struct M<T> { x: wrap!(T) }"),
            [trace_bound(quote!(wrap!(T)))]
        );
    }

    #[test]
    fn a_path_that_only_ends_in_a_parameter_name_is_not_the_parameter() {
        assert_eq!(
            bounds("struct S<T> { x: other::T, #[trace(skip)] y: T }"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_fields_of_a_skipped_variant_bound_nothing() {
        assert_eq!(
            bounds("enum E<X, Y> { A(Vec<Y>), #[trace(skip)] B(X, Y) }"),
            [trace_bound(quote!(Y))]
        );
    }

    #[test]
    fn bounds_written_on_the_type_are_kept() {
        assert_eq!(
            bounds("struct S<T> where T: Clone { #[trace(skip)] x: T }"),
            [quote!(T: Clone).to_string()]
        );
    }
}
