//! The entry attributes: `#[sim::test]`, `#[sim::main]` and their tokio-named twins.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ItemFn, Lit, MetaNameValue, Token};

/// What the attribute makes of the function.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A `#[test]` that sweeps seeds.
    Test,
    /// A function that runs its body once.
    Main,
}

/// Whose arguments the attribute takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `#[sim::test]`/`#[sim::main]`: sim's arguments, `sim` at `::sim`.
    Sim,
    /// The facade's `#[tokio::test]`/`#[tokio::main]`: tokio's arguments, `sim` at
    /// `<crate>::__sim` (`crate` defaulting to `tokio`).
    Tokio,
}

const SIM_INT_KEYS: &[&str] = &[
    "seeds",
    "start_seed",
    "max_steps",
    "pct_steps",
    "shrink_budget",
];
const SIM_STR_KEYS: &[&str] = &["strategy", "max_time", "unhandled_panic", "regressions"];
/// tokio's arguments that change nothing in a simulated run.
const TOKIO_IGNORED: &[&str] = &["flavor", "worker_threads", "start_paused"];

pub(crate) fn expand(
    kind: Kind,
    flavor: Flavor,
    args: TokenStream,
    item: TokenStream,
) -> syn::Result<TokenStream> {
    let args = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(args)?;
    let func: ItemFn = syn::parse2(item)?;
    let what = match (kind, flavor) {
        (Kind::Test, Flavor::Sim) => "#[sim::test]",
        (Kind::Main, Flavor::Sim) => "#[sim::main]",
        (Kind::Test, Flavor::Tokio) => "#[tokio::test]",
        (Kind::Main, Flavor::Tokio) => "#[tokio::main]",
    };
    if func.sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            func.sig.fn_token,
            format!("{what} needs an `async fn`"),
        ));
    }
    if !func.sig.inputs.is_empty() {
        return Err(syn::Error::new_spanned(
            &func.sig.inputs,
            format!("{what} functions take no arguments"),
        ));
    }
    let mut krate: Option<syn::Path> = None;
    let mut settings = Vec::new();
    let accepted: Vec<&str> = match (kind, flavor) {
        (Kind::Test, Flavor::Sim) => [SIM_INT_KEYS, SIM_STR_KEYS, &["crate"]].concat(),
        (Kind::Main, Flavor::Sim) => vec!["crate"],
        (Kind::Test, Flavor::Tokio) => [TOKIO_IGNORED, &["unhandled_panic", "crate"]].concat(),
        (Kind::Main, Flavor::Tokio) => [TOKIO_IGNORED, &["unhandled_panic", "crate"]].concat(),
    };
    for arg in &args {
        let key = arg
            .path
            .get_ident()
            .map(ToString::to_string)
            .ok_or_else(|| syn::Error::new_spanned(&arg.path, "expected an argument name"))?;
        if !accepted.contains(&key.as_str()) {
            return Err(syn::Error::new_spanned(
                &arg.path,
                format!(
                    "unknown {what} argument `{key}`; expected one of {}",
                    accepted.join(", ")
                ),
            ));
        }
        let lit = match &arg.value {
            Expr::Lit(ExprLit { lit, .. }) => lit,
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    format!("`{key}` takes a literal"),
                ));
            }
        };
        let int = SIM_INT_KEYS.contains(&key.as_str()) || key == "worker_threads";
        let boolean = key == "start_paused";
        let value = match lit {
            Lit::Int(i) if int => i.base10_digits().to_string(),
            Lit::Bool(b) if boolean => b.value.to_string(),
            Lit::Str(s) if !int && !boolean => s.value(),
            _ => {
                let expected = if int {
                    "an integer"
                } else if boolean {
                    "a boolean"
                } else {
                    "a string"
                };
                return Err(syn::Error::new_spanned(
                    lit,
                    format!("`{key}` takes {expected} literal"),
                ));
            }
        };
        match key.as_str() {
            "crate" => {
                krate = Some(syn::parse_str(&value).map_err(|_| {
                    syn::Error::new_spanned(lit, "`crate` takes the path of a crate")
                })?);
            }
            // A simulated run is one thread with a paused clock: nothing to set.
            "flavor" | "worker_threads" | "start_paused" => {}
            _ if kind == Kind::Main => {} // `unhandled_panic` of a tokio main
            _ => settings.push(quote! { .attr(#key, #value) }),
        }
    }
    let sim = match (flavor, krate) {
        (Flavor::Sim, Some(path)) => quote! { #path },
        (Flavor::Sim, None) => quote! { ::sim },
        (Flavor::Tokio, Some(path)) => quote! { #path::__sim },
        (Flavor::Tokio, None) => quote! { ::tokio::__sim },
    };
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let name = &sig.ident;
    let output = &sig.output;
    Ok(match kind {
        Kind::Test => quote! {
            #(#attrs)*
            #[::core::prelude::v1::test]
            #vis fn #name() {
                async fn __sim_test_body() #output #block
                #sim::Check::new()
                    .test_path(::core::module_path!(), ::core::stringify!(#name))
                    .package(::core::env!("CARGO_PKG_NAME"), ::core::env!("CARGO_MANIFEST_DIR"))
                    #(#settings)*
                    .run(__sim_test_body);
            }
        },
        Kind::Main => quote! {
            #(#attrs)*
            #vis fn #name() #output {
                async fn __sim_main_body() #output #block
                #sim::macros::support::run_main(__sim_main_body())
            }
        },
    })
}
