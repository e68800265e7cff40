//! `#[sim::test]`: turns an `async fn` test into a seed sweep ([`sim::Check`]).
//!
//! This crate only rewrites syntax; everything it generates calls the public `sim` API,
//! and argument values are parsed by `sim::Check::attr` with each setting's one parser
//! (`sim::config`; errors name the argument). The argument names and their literal
//! types come from the one table of settings, `sim_keys::Key`: an unknown argument or
//! a wrong literal type is a compile error here.
//!
//! [`sim::Check`]: https://docs.rs/sim

use proc_macro::TokenStream;
use quote::quote;
use sim_keys::{Key, Literal};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ItemFn, Lit, MetaNameValue, Token};

/// Runs an `async fn` test over many seeds on the deterministic runtime.
///
/// ```text
/// #[sim::test]
/// async fn transfers_conserve_money() { /* ... */ }
///
/// #[sim::test(seeds = 1000, strategy = "pct", max_time = "10s")]
/// async fn no_deadlock() -> Result<(), String> { Ok(()) }
/// ```
///
/// Arguments: `seeds`, `start_seed`, `max_steps`, `pct_steps`, `shrink_budget`
/// (integers); `strategy` (`"random"`, `"pct"`, `"pct:<depth>"`, `"round-robin"`,
/// `"bytes:<hex>"`), `max_time` (`"10s"`, `"250ms"`, `"1.5h"`), `unhandled_panic`
/// (`"ignore"`), `regressions` (`"off"` or a file path) (strings);
/// `check_determinism` (`true`/`false`). The body may return `()` or
/// `Result<(), E: Debug>`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    match expand(args.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let args = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(args)?;
    let func: ItemFn = syn::parse2(item)?;
    if func.sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            func.sig.fn_token,
            "#[sim::test] needs an `async fn`",
        ));
    }
    if !func.sig.inputs.is_empty() {
        return Err(syn::Error::new_spanned(
            &func.sig.inputs,
            "#[sim::test] functions take no arguments",
        ));
    }
    let mut settings = Vec::new();
    for arg in &args {
        let key = arg
            .path
            .get_ident()
            .map(ToString::to_string)
            .ok_or_else(|| syn::Error::new_spanned(&arg.path, "expected an argument name"))?;
        let Some(literal) = Key::from_attr(&key).and_then(Key::attr) else {
            return Err(syn::Error::new_spanned(
                &arg.path,
                format!(
                    "unknown #[sim::test] argument `{key}`; expected one of {}",
                    Key::attr_names()
                ),
            ));
        };
        let value = match (&arg.value, literal) {
            (
                Expr::Lit(ExprLit {
                    lit: Lit::Int(i), ..
                }),
                Literal::Int,
            ) => i.base10_digits().to_string(),
            (
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }),
                Literal::Str,
            ) => s.value(),
            (
                Expr::Lit(ExprLit {
                    lit: Lit::Bool(b), ..
                }),
                Literal::Bool,
            ) => b.value.to_string(),
            (_, literal) => {
                let kind = match literal {
                    Literal::Int => "an integer",
                    Literal::Str => "a string",
                    Literal::Bool => "a boolean",
                };
                return Err(syn::Error::new_spanned(
                    &arg.value,
                    format!("`{key}` takes {kind} literal"),
                ));
            }
        };
        settings.push(quote! { .attr(#key, #value) });
    }
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let name = &sig.ident;
    let output = &sig.output;
    Ok(quote! {
        #(#attrs)*
        #[::core::prelude::v1::test]
        #vis fn #name() {
            async fn __sim_test_body() #output #block
            ::sim::Check::new()
                .test_path(::core::module_path!(), ::core::stringify!(#name))
                .package(::core::env!("CARGO_PKG_NAME"), ::core::env!("CARGO_MANIFEST_DIR"))
                #(#settings)*
                .run(__sim_test_body);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(args: proc_macro2::TokenStream) -> String {
        let item = quote! { async fn t() {} };
        expand(args, item).unwrap_err().to_string()
    }

    #[::core::prelude::v1::test]
    fn arguments_are_checked_against_the_settings_table() {
        let e = error(quote! { colour = "blue" });
        assert_eq!(
            e,
            format!(
                "unknown #[sim::test] argument `colour`; expected one of {}",
                Key::attr_names()
            )
        );
        // A setting without an attribute (a reproduce command's, not a test's).
        assert!(error(quote! { seed = 3 }).contains("unknown #[sim::test] argument `seed`"));
        assert_eq!(
            error(quote! { seeds = "10" }),
            "`seeds` takes an integer literal"
        );
        assert_eq!(
            error(quote! { max_time = 10 }),
            "`max_time` takes a string literal"
        );
        assert_eq!(
            error(quote! { check_determinism = 1 }),
            "`check_determinism` takes a boolean literal"
        );
        let ok = expand(
            quote! { seeds = 10, check_determinism = true, max_time = "1s" },
            quote! { async fn t() {} },
        )
        .unwrap()
        .to_string();
        assert!(
            ok.contains(". attr (\"check_determinism\" , \"true\")"),
            "{ok}"
        );
    }
}
