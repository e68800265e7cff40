//! `#[sim::test]`: turns an `async fn` test into a seed sweep ([`sim::Check`]).
//!
//! This crate only rewrites syntax; everything it generates calls the public `sim` API,
//! and argument values are validated by `sim::Check::attr` (with errors naming the
//! argument). Unknown arguments and wrong literal types are compile errors here.
//!
//! [`sim::Check`]: https://docs.rs/sim

use proc_macro::TokenStream;
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ItemFn, Lit, MetaNameValue, Token};

const INT_KEYS: &[&str] = &[
    "seeds",
    "start_seed",
    "max_steps",
    "pct_steps",
    "shrink_budget",
];
const STR_KEYS: &[&str] = &["strategy", "max_time", "unhandled_panic", "regressions"];

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
/// `"bytes:<hex>"`), `max_time` (`"10s"`, `"250ms"`), `unhandled_panic` (`"ignore"`),
/// `regressions` (`"off"` or a file path) (strings). The body may return `()` or
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
        let value = match &arg.value {
            Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            }) if INT_KEYS.contains(&key.as_str()) => i.base10_digits().to_string(),
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) if STR_KEYS.contains(&key.as_str()) => s.value(),
            _ if INT_KEYS.contains(&key.as_str()) => {
                return Err(syn::Error::new_spanned(
                    &arg.value,
                    format!("`{key}` takes an integer literal"),
                ));
            }
            _ if STR_KEYS.contains(&key.as_str()) => {
                return Err(syn::Error::new_spanned(
                    &arg.value,
                    format!("`{key}` takes a string literal"),
                ));
            }
            _ => {
                return Err(syn::Error::new_spanned(
                    &arg.path,
                    format!(
                        "unknown #[sim::test] argument `{key}`; expected one of {}",
                        [INT_KEYS, STR_KEYS].concat().join(", ")
                    ),
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
