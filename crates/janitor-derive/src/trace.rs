//! `#[derive(Trace)]`: an implementation of `janitor::gc::Trace` that traces every field once.
//!
//! The generated `trace` destructures `self` and calls `Trace::trace` on each field not marked
//! `#[trace(skip)]`; the constants `HOLDS_GC` and `MUTABLE_EDGES` are the OR of the traced fields'.
//! Every type parameter is bounded by `Trace`. The implementation is sound by construction: a
//! value owns its fields, and each is reported once.
//!
//! `#[trace(finalize)]` on the type adds the finalizer hook (`FINALIZER`, which only compiles if
//! the type implements `Finalize`) and implements `FinalizerRegistered` (which `Finalize`
//! requires): registration cannot be forgotten in either direction. `#[trace(unsync_finalize)]`
//! does the same for the thread-local heap (`UNSYNC_FINALIZER`, `unsync::Finalize`,
//! `unsync::FinalizerRegistered`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{Data, DeriveInput, Fields, parse_quote};

pub(crate) fn derive(input: TokenStream) -> TokenStream {
    match syn::parse2::<DeriveInput>(input).and_then(expand) {
        Ok(tokens) => tokens,
        Err(error) => error.to_compile_error(),
    }
}

fn expand(mut input: DeriveInput) -> syn::Result<TokenStream> {
    let (finalize, unsync_finalize) = finalize_attributes(&input.attrs)?;
    let mut traced_types = Vec::new();
    let body = match &input.data {
        Data::Struct(data) => {
            let (pattern, calls) = destructure(&data.fields, quote!(Self), &mut traced_types)?;
            quote! { let #pattern = self; #calls }
        }
        Data::Enum(data) => {
            let mut arms = Vec::new();
            for variant in &data.variants {
                let name = &variant.ident;
                let (pattern, calls) =
                    destructure(&variant.fields, quote!(Self::#name), &mut traced_types)?;
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
    for parameter in input.generics.type_params_mut() {
        parameter.bounds.push(parse_quote!(::janitor::gc::Trace));
    }
    let name = &input.ident;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    let (hook, registered) = if finalize {
        (
            quote! {
                const FINALIZER: ::core::option::Option<::janitor::gc::Finalizer<Self>> =
                    ::core::option::Option::Some(::janitor::gc::Finalizer::of());
            },
            quote! {
                // SAFETY: generated together with the `FINALIZER` hook above.
                #[automatically_derived]
                unsafe impl #impl_generics ::janitor::gc::FinalizerRegistered for #name #type_generics #where_clause {}
            },
        )
    } else {
        (quote! {}, quote! {})
    };
    let (unsync_hook, unsync_registered) = if unsync_finalize {
        (
            quote! {
                const UNSYNC_FINALIZER: ::core::option::Option<::janitor::gc::unsync::Finalizer<Self>> =
                    ::core::option::Option::Some(::janitor::gc::unsync::Finalizer::of());
            },
            quote! {
                // SAFETY: generated together with the `UNSYNC_FINALIZER` hook above.
                #[automatically_derived]
                unsafe impl #impl_generics ::janitor::gc::unsync::FinalizerRegistered for #name #type_generics #where_clause {}
            },
        )
    } else {
        (quote! {}, quote! {})
    };
    Ok(quote! {
        // SAFETY: generated: every field not marked `#[trace(skip)]` is traced once, and the
        // value owns its fields.
        #[automatically_derived]
        unsafe impl #impl_generics ::janitor::gc::Trace for #name #type_generics #where_clause {
            const HOLDS_GC: bool = false #(|| <#traced_types as ::janitor::gc::Trace>::HOLDS_GC)*;
            const MUTABLE_EDGES: bool = false #(|| <#traced_types as ::janitor::gc::Trace>::MUTABLE_EDGES)*;
            #hook
            #unsync_hook
            #[inline]
            #[allow(unused_variables)]
            fn trace(&self, tracer: &mut ::janitor::gc::Tracer<'_>) {
                #body
            }
        }
        #registered
        #unsync_registered
    })
}

/// Whether the type carries `#[trace(finalize)]`, and whether `#[trace(unsync_finalize)]`.
fn finalize_attributes(attributes: &[syn::Attribute]) -> syn::Result<(bool, bool)> {
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
            } else {
                Err(meta.error(
                    "unknown trace option on a type: the options are `#[trace(finalize)]` and `#[trace(unsync_finalize)]`",
                ))
            }
        })?;
    }
    Ok((finalize, unsync_finalize))
}

/// A pattern binding the traced fields, and the calls that trace them.
fn destructure(
    fields: &Fields,
    path: TokenStream,
    traced_types: &mut Vec<syn::Type>,
) -> syn::Result<(TokenStream, TokenStream)> {
    let mut bindings = Vec::new();
    let mut calls = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        let binding = format_ident!("field_{index}");
        if is_skipped(field)? {
            bindings.push((field, None));
            continue;
        }
        traced_types.push(field.ty.clone());
        calls.push(quote! { ::janitor::gc::Trace::trace(#binding, tracer); });
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

/// Whether the field carries `#[trace(skip)]`.
fn is_skipped(field: &syn::Field) -> syn::Result<bool> {
    let mut skipped = false;
    for attribute in field
        .attrs
        .iter()
        .filter(|attribute| attribute.path().is_ident("trace"))
    {
        attribute.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                skipped = true;
                Ok(())
            } else {
                Err(meta.error("unknown trace option: the only one is `#[trace(skip)]`"))
            }
        })?;
    }
    Ok(skipped)
}
