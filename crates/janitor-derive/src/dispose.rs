//! `#[derive(Dispose)]`: a cascading, idempotent `janitor::Dispose`.
//!
//! The invariant the generated code keeps: the struct's `DisposeFlag` is won before anything
//! else, so the hook and the marked fields are disposed at most once; then the struct's
//! `LeakTracker` fields are closed (the dispose happened: nothing leaked, whatever the steps do),
//! and every step runs, the hook first and the fields in reverse declaration order, each one even if an earlier one
//! panicked (the panics are collected by `janitor::dispose::__private::Cascade`, which resumes the
//! first after the last step). Generated code names everything through `::janitor::` paths, so it
//! works wherever `janitor` is a dependency.

use proc_macro2::{TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Error, Field, Fields, Ident, Member, Path, Type, WherePredicate};

/// The `impl janitor::Dispose` for `input`, or the error that explains why there is none.
pub(crate) fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let fields = match &input.data {
        Data::Struct(data) => &data.fields,
        Data::Enum(data) => {
            return Err(Error::new(
                data.enum_token.span,
                "#[derive(Dispose)] supports structs only: the fields of an enum depend on its \
                 variant; implement `janitor::Dispose` by hand with a `match`",
            ));
        }
        Data::Union(data) => {
            return Err(Error::new(
                data.union_token.span,
                "#[derive(Dispose)] supports structs only: a union does not know which of its \
                 fields is live; implement `janitor::Dispose` by hand",
            ));
        }
    };
    let hook = struct_hook(input)?;
    let plan = FieldPlan::read(fields)?;
    let flag = plan.flag(input)?;

    let type_parameters: Vec<&Ident> = input
        .generics
        .type_params()
        .map(|param| &param.ident)
        .collect();
    let mut generics = input.generics.clone();
    let bounds: Vec<WherePredicate> = plan
        .disposed
        .iter()
        .filter(|(_, ty)| mentions_any(ty, &type_parameters))
        .map(|(_, ty)| syn::parse_quote_spanned!(ty.span()=> #ty: ::janitor::Dispose))
        .collect();
    generics.make_where_clause().predicates.extend(bounds);
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();

    let hook_step = hook.map(|path| {
        quote_spanned! {path.span()=>
            cascade.run(|| #path(self));
        }
    });
    let field_steps = plan.disposed.iter().rev().map(|(member, ty)| {
        quote_spanned! {ty.span()=>
            cascade.run(|| ::janitor::dispose::__private::DisposableField::dispose_field(&self.#member));
        }
    });
    let name = &input.ident;
    let closes = plan.trackers.iter().map(|member| {
        quote! {
            ::janitor::leak::LeakTracker::close(&self.#member);
        }
    });
    let mut closes = closes.peekable();
    let mut steps = hook_step.into_iter().chain(field_steps).peekable();
    // A struct with nothing to cascade still gets its flag set, so that its methods refuse to run
    // after dispose; it gets no cascade, which would be an unused `mut` in the user's crate.
    let body = if steps.peek().is_none() && closes.peek().is_none() {
        quote! {
            ::janitor::DisposeFlag::try_begin(&self.#flag);
        }
    } else if steps.peek().is_none() {
        quote! {
            if ::janitor::DisposeFlag::try_begin(&self.#flag) {
                #(#closes)*
            }
        }
    } else {
        quote! {
            if !::janitor::DisposeFlag::try_begin(&self.#flag) {
                return;
            }
            #(#closes)*
            let mut cascade = ::janitor::dispose::__private::Cascade::new();
            #(#steps)*
            cascade.finish();
        }
    };

    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::janitor::Dispose for #name #type_generics #where_clause {
            fn dispose(&self) {
                #body
            }
        }
    })
}

/// The path of `#[dispose(with = path)]` on the struct, if any.
fn struct_hook(input: &DeriveInput) -> syn::Result<Option<Path>> {
    let mut hook = None;
    for attribute in input
        .attrs
        .iter()
        .filter(|attribute| attribute.path().is_ident("dispose"))
    {
        let syn::Meta::List(_) = &attribute.meta else {
            return Err(Error::new(
                attribute.span(),
                "on a struct, `#[dispose]` takes an argument: `#[dispose(with = path)]` names a \
                 function taking `&Self` that runs before the fields are disposed",
            ));
        };
        attribute.parse_nested_meta(|meta| {
            if !meta.path.is_ident("with") {
                return Err(meta.error(
                    "unknown `dispose` attribute on a struct: the only one is \
                     `#[dispose(with = path)]`, a function taking `&Self` run before the fields \
                     are disposed",
                ));
            }
            if hook.is_some() {
                return Err(meta.error("`#[dispose(with = ..)]` given twice: keep one hook"));
            }
            hook = Some(meta.value()?.parse::<Path>()?);
            Ok(())
        })?;
    }
    Ok(hook)
}

/// What the fields say: the fields to dispose, in declaration order, the flag, and the leak
/// trackers to close.
struct FieldPlan<'a> {
    disposed: Vec<(Member, &'a Type)>,
    marked_flags: Vec<(Member, &'a Field)>,
    flag_typed: Vec<Member>,
    /// Fields typed `LeakTracker`: found by type, as the flag is, since a struct that holds one
    /// always means "my dispose closes it".
    trackers: Vec<Member>,
}

/// What one field's `#[dispose ..]` attributes ask for.
#[derive(PartialEq)]
enum FieldRole {
    Untouched,
    Disposed,
    Flag,
}

impl<'a> FieldPlan<'a> {
    fn read(fields: &'a Fields) -> syn::Result<Self> {
        let mut plan = Self {
            disposed: Vec::new(),
            marked_flags: Vec::new(),
            flag_typed: Vec::new(),
            trackers: Vec::new(),
        };
        for (index, field) in fields.iter().enumerate() {
            let member = match &field.ident {
                Some(ident) => Member::Named(ident.clone()),
                None => Member::Unnamed(syn::Index {
                    index: index as u32,
                    span: field.span(),
                }),
            };
            match field_role(field)? {
                FieldRole::Untouched => {}
                FieldRole::Disposed => plan.disposed.push((member.clone(), &field.ty)),
                FieldRole::Flag => plan.marked_flags.push((member.clone(), field)),
            }
            if is_named(&field.ty, "DisposeFlag") {
                plan.flag_typed.push(member.clone());
            }
            if is_named(&field.ty, "LeakTracker") {
                plan.trackers.push(member);
            }
        }
        Ok(plan)
    }

    /// The flag field: the one marked `#[dispose(flag)]`, else the only one typed `DisposeFlag`.
    fn flag(&self, input: &DeriveInput) -> syn::Result<Member> {
        match (self.marked_flags.as_slice(), self.flag_typed.as_slice()) {
            ([(member, _)], _) => Ok(member.clone()),
            ([_, (_, second), ..], _) => Err(Error::new(
                second.span(),
                "several fields are marked `#[dispose(flag)]`: a struct has one DisposeFlag \
                 that makes its dispose run once; mark only that one",
            )),
            ([], [member]) => Ok(member.clone()),
            ([], []) => Err(Error::new(
                input.ident.span(),
                "#[derive(Dispose)] needs a `janitor::DisposeFlag` field, which makes dispose run \
                 once and lets other methods refuse to run after it: add \
                 `disposed: janitor::DisposeFlag` (or mark an aliased one `#[dispose(flag)]`)",
            )),
            ([], [..]) => Err(Error::new(
                input.ident.span(),
                "#[derive(Dispose)] found several `DisposeFlag` fields and cannot tell which one \
                 guards this struct's dispose: mark it `#[dispose(flag)]`",
            )),
        }
    }
}

/// The role one field's `#[dispose]` attributes give it.
fn field_role(field: &Field) -> syn::Result<FieldRole> {
    let mut role = FieldRole::Untouched;
    for attribute in field
        .attrs
        .iter()
        .filter(|attribute| attribute.path().is_ident("dispose"))
    {
        let this = match &attribute.meta {
            syn::Meta::Path(_) => FieldRole::Disposed,
            syn::Meta::List(_) => {
                let mut this = FieldRole::Untouched;
                attribute.parse_nested_meta(|meta| {
                    if meta.path.is_ident("flag") {
                        this = FieldRole::Flag;
                        Ok(())
                    } else {
                        Err(meta.error(
                            "unknown `dispose` attribute on a field: write `#[dispose]` to \
                             dispose the field, or `#[dispose(flag)]` to mark the struct's \
                             DisposeFlag",
                        ))
                    }
                })?;
                this
            }
            syn::Meta::NameValue(_) => {
                return Err(Error::new(
                    attribute.span(),
                    "unknown `dispose` attribute on a field: write `#[dispose]` to dispose the \
                     field, or `#[dispose(flag)]` to mark the struct's DisposeFlag",
                ));
            }
        };
        if role != FieldRole::Untouched && role != this {
            return Err(Error::new(
                attribute.span(),
                "a field is either disposed (`#[dispose]`) or the flag (`#[dispose(flag)]`), \
                 not both",
            ));
        }
        role = this;
    }
    Ok(role)
}

/// Whether `ty` is a path ending in `name` (`DisposeFlag`, `janitor::DisposeFlag`).
fn is_named(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(path) => {
            path.qself.is_none()
                && path
                    .path
                    .segments
                    .last()
                    .is_some_and(|last| last.ident == name)
        }
        _ => false,
    }
}

/// Whether `ty` names one of the struct's type parameters anywhere inside it.
fn mentions_any(ty: &Type, type_parameters: &[&Ident]) -> bool {
    fn walk(tokens: TokenStream, type_parameters: &[&Ident]) -> bool {
        tokens.into_iter().any(|token| match token {
            TokenTree::Ident(ident) => type_parameters.iter().any(|param| **param == ident),
            TokenTree::Group(group) => walk(group.stream(), type_parameters),
            TokenTree::Punct(_) | TokenTree::Literal(_) => false,
        })
    }
    walk(quote!(#ty), type_parameters)
}
