//! The entry attributes: `#[sim::test]`, `#[sim::main]` and their tokio-named twins.

use proc_macro2::TokenStream;
use quote::quote;
use sim_keys::{Key, Literal};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ItemFn, Lit, Meta, Token};

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

/// tokio's arguments that change nothing in a simulated run.
const TOKIO_IGNORED: &[&str] = &["flavor", "worker_threads", "start_paused"];

/// The literal an argument takes: the settings table's for sim's test arguments.
fn literal_of(kind: Kind, flavor: Flavor, key: &str) -> Option<Literal> {
    match (kind, flavor, key) {
        (_, _, "crate") => Some(Literal::Str),
        // tokio's runtime arguments, accepted by every flavour so that a test moves
        // from `#[tokio::test(start_paused = true)]` by changing the path only.
        (_, _, "flavor") => Some(Literal::Str),
        (_, _, "worker_threads") => Some(Literal::Int),
        (_, _, "start_paused") => Some(Literal::Bool),
        // tokio's runtime name, for `Handle::name`.
        (_, _, "name") => Some(Literal::Str),
        (Kind::Test, Flavor::Sim, _) => Key::from_attr(key).and_then(Key::attr),
        (_, Flavor::Tokio, "unhandled_panic") => Some(Literal::Str),
        _ => None,
    }
}

/// The argument names an attribute accepts (for error messages).
fn accepted(kind: Kind, flavor: Flavor) -> String {
    match (kind, flavor) {
        (Kind::Test, Flavor::Sim) => {
            format!(
                "{}, crate, name, {}",
                Key::attr_names(),
                TOKIO_IGNORED.join(", ")
            )
        }
        (Kind::Main, Flavor::Sim) => format!("crate, name, {}", TOKIO_IGNORED.join(", ")),
        (_, Flavor::Tokio) => [TOKIO_IGNORED, &["unhandled_panic", "crate", "name"]]
            .concat()
            .join(", "),
    }
}

/// An argument's value as `Check::attr` takes it: a literal of the kind the table
/// names, or a bare name for a boolean `true` (`#[sim::test(explore)]`).
fn value_of(key: &str, literal: Literal, arg: &Meta) -> syn::Result<String> {
    let kind = match literal {
        Literal::Int => "an integer",
        Literal::Str => "a string",
        Literal::Bool => "a boolean",
    };
    let value = match arg {
        Meta::Path(_) if literal == Literal::Bool => return Ok("true".to_string()),
        Meta::NameValue(nv) => &nv.value,
        _ => {
            return Err(syn::Error::new_spanned(
                arg,
                format!("`{key}` takes {kind} literal: `{key} = ...`"),
            ));
        }
    };
    match (value, literal) {
        (
            Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            }),
            Literal::Int,
        ) => Ok(i.base10_digits().to_string()),
        (
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }),
            Literal::Str,
        ) => Ok(s.value()),
        (
            Expr::Lit(ExprLit {
                lit: Lit::Bool(b), ..
            }),
            Literal::Bool,
        ) => Ok(b.value.to_string()),
        _ => Err(syn::Error::new_spanned(
            value,
            format!("`{key}` takes {kind} literal"),
        )),
    }
}

pub(crate) fn expand(
    kind: Kind,
    flavor: Flavor,
    args: TokenStream,
    item: TokenStream,
) -> syn::Result<TokenStream> {
    let args = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
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
    // A test takes no arguments, nor does `main`; another function under a main
    // attribute may (a method taking `self`, as tokio's allows).
    if !func.sig.inputs.is_empty() && (kind == Kind::Test || func.sig.ident == "main") {
        let what = match kind {
            Kind::Test => format!("{what} functions take no arguments"),
            Kind::Main => format!("{what}: the main function cannot accept arguments"),
        };
        return Err(syn::Error::new_spanned(&func.sig.inputs, what));
    }
    let mut krate: Option<syn::Path> = None;
    let mut runtime_name: Option<String> = None;
    let mut settings = Vec::new();
    for arg in &args {
        let key = arg
            .path()
            .get_ident()
            .map(ToString::to_string)
            .ok_or_else(|| syn::Error::new_spanned(arg.path(), "expected an argument name"))?;
        let Some(literal) = literal_of(kind, flavor, &key) else {
            return Err(syn::Error::new_spanned(
                arg.path(),
                format!(
                    "unknown {what} argument `{key}`; expected one of {}",
                    accepted(kind, flavor)
                ),
            ));
        };
        let value = value_of(&key, literal, arg)?;
        match key.as_str() {
            "crate" => {
                krate = Some(syn::parse_str(&value).map_err(|_| {
                    syn::Error::new_spanned(arg, "`crate` takes the path of a crate")
                })?);
            }
            // A simulated run is one thread with a paused clock: nothing to set.
            "flavor" | "worker_threads" | "start_paused" => {}
            "name" => runtime_name = Some(value),
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
    let named = runtime_name.as_ref().map(|n| quote! { .runtime_name(#n) });
    Ok(match kind {
        Kind::Test => quote! {
            #(#attrs)*
            #[::core::prelude::v1::test]
            #vis fn #name() {
                async fn __sim_test_body() #output #block
                #sim::Check::new()
                    .test_path(::core::module_path!(), ::core::stringify!(#name))
                    .package(::core::env!("CARGO_PKG_NAME"), ::core::env!("CARGO_MANIFEST_DIR"))
                    #named
                    #(#settings)*
                    .run(__sim_test_body);
            }
        },
        Kind::Main => {
            // `main` ends the process on a failure; any other function (a helper a
            // test calls) panics with the report.
            let run = if name == "main" {
                quote! { run_main }
            } else {
                quote! { run_fn }
            };
            let runtime_name = match &runtime_name {
                Some(n) => quote! { ::core::option::Option::Some(#n) },
                None => quote! { ::core::option::Option::None },
            };
            if sig.inputs.is_empty() {
                quote! {
                    #(#attrs)*
                    #vis fn #name() #output {
                        async fn __sim_main_body() #output #block
                        #sim::macros::support::#run(#runtime_name, __sim_main_body())
                    }
                }
            } else {
                // The body becomes an async block that owns the arguments (`self`
                // included), as the `async fn`'s future would.
                let mut sig = sig;
                sig.asyncness = None;
                quote! {
                    #(#attrs)*
                    #vis #sig {
                        let __sim_main_body = async move #block;
                        #sim::macros::support::#run(#runtime_name, __sim_main_body)
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(args: TokenStream) -> String {
        let item = quote! { async fn t() {} };
        expand(Kind::Test, Flavor::Sim, args, item)
            .unwrap_err()
            .to_string()
    }

    fn expanded(args: TokenStream) -> String {
        expand(Kind::Test, Flavor::Sim, args, quote! { async fn t() {} })
            .unwrap()
            .to_string()
    }

    #[::core::prelude::v1::test]
    fn arguments_are_checked_against_the_settings_table() {
        let e = error(quote! { colour = "blue" });
        assert_eq!(
            e,
            format!(
                "unknown #[sim::test] argument `colour`; expected one of {}, crate, \
                 name, flavor, worker_threads, start_paused",
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
        assert_eq!(
            error(quote! { seeds }),
            "`seeds` takes an integer literal: `seeds = ...`"
        );
        let ok = expanded(quote! { seeds = 10, check_determinism = true, max_time = "1s" });
        assert!(
            ok.contains(". attr (\"check_determinism\" , \"true\")"),
            "{ok}"
        );
    }

    #[::core::prelude::v1::test]
    fn a_bare_boolean_argument_means_true() {
        let ok = expanded(quote! { explore, preemption_bound = 2 });
        assert!(ok.contains(". attr (\"explore\" , \"true\")"), "{ok}");
        assert!(ok.contains(". attr (\"preemption_bound\" , \"2\")"), "{ok}");
        let ok = expanded(quote! { fuzz = 5000 });
        assert!(ok.contains(". attr (\"fuzz\" , \"5000\")"), "{ok}");
    }

    #[::core::prelude::v1::test]
    fn sims_attributes_accept_tokios_runtime_arguments_and_ignore_them() {
        let args = quote! { flavor = "multi_thread", worker_threads = 2, start_paused = true };
        let test = expanded(args.clone());
        assert!(
            !test.contains("flavor") && !test.contains("start_paused"),
            "{test}"
        );
        let main = expand(Kind::Main, Flavor::Sim, args, quote! { async fn m() {} });
        assert!(main.is_ok());
        assert_eq!(
            error(quote! { start_paused = 1 }),
            "`start_paused` takes a boolean literal"
        );
    }

    #[::core::prelude::v1::test]
    fn tokio_arguments_are_accepted_and_sims_are_not() {
        let item = quote! { async fn t() {} };
        assert!(
            expand(
                Kind::Test,
                Flavor::Tokio,
                quote! { flavor = "multi_thread", worker_threads = 2, start_paused = true },
                item.clone()
            )
            .is_ok()
        );
        let e = expand(Kind::Test, Flavor::Tokio, quote! { seeds = 3 }, item)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("unknown #[tokio::test] argument `seeds`"),
            "{e}"
        );
    }

    #[::core::prelude::v1::test]
    fn only_main_functions_other_than_main_take_arguments() {
        let method = quote! { async fn f(self, n: u32) -> u32 { n } };
        let ok = expand(Kind::Main, Flavor::Sim, quote! {}, method.clone())
            .unwrap()
            .to_string();
        assert!(ok.contains("fn f (self , n : u32) -> u32"), "{ok}");
        assert!(ok.contains("async move"), "{ok}");
        let e = expand(
            Kind::Main,
            Flavor::Sim,
            quote! {},
            quote! { async fn main(n: u32) {} },
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "#[sim::main]: the main function cannot accept arguments");
        let e = expand(Kind::Test, Flavor::Tokio, quote! {}, method)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "#[tokio::test] functions take no arguments");
    }

    #[::core::prelude::v1::test]
    fn name_names_the_runtime() {
        let test = expanded(quote! { name = "bank" });
        assert!(test.contains(". runtime_name (\"bank\")"), "{test}");
        let main = expand(
            Kind::Main,
            Flavor::Tokio,
            quote! { name = "bank" },
            quote! { async fn m() {} },
        )
        .unwrap()
        .to_string();
        assert!(main.contains("Some (\"bank\")"), "{main}");
        assert_eq!(error(quote! { name = 1 }), "`name` takes a string literal");
    }
}
