//! `join!` and `try_join!`: poll several futures in one task until all complete (or,
//! for `try_join!`, one fails), with tokio's semantics.
//!
//! Each future is wrapped in a `MaybeDone` pinned on the stack; a `poll_fn` polls the
//! ones not done, starting one branch further each poll (tokio's rotation for
//! fairness; always branch 0 under `biased;`). `try_join!` returns the first `Err` it
//! sees, dropping the others.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Token};

struct Join {
    biased: bool,
    futures: Vec<Expr>,
}

impl Parse for Join {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let biased = crate::select::parse_biased(input)?;
        let futures = Punctuated::<Expr, Token![,]>::parse_terminated(input)?;
        Ok(Join {
            biased,
            futures: futures.into_iter().collect(),
        })
    }
}

pub(crate) fn expand(input: TokenStream, is_try: bool) -> syn::Result<TokenStream> {
    let join: Join = syn::parse2(input)?;
    let n = join.futures.len();
    let site = Span::mixed_site();
    if n == 0 {
        return Ok(if is_try {
            quote_spanned! {site=> ::core::result::Result::Ok(()) }
        } else {
            quote_spanned! {site=> () }
        });
    }
    let names: Vec<_> = (0..n)
        .map(|i| format_ident!("__sim_future_{}", i, span = site))
        .collect();
    let pins = join.futures.iter().zip(&names).map(|(e, f)| {
        quote_spanned! {site=>
            let mut #f = ::core::pin::pin!(__sim_support::maybe_done(
                ::core::future::IntoFuture::into_future(#e)
            ));
        }
    });
    let arms = names.iter().enumerate().map(|(i, f)| {
        let check = is_try.then(|| {
            quote_spanned! {site=>
                if let ::core::option::Option::Some(::core::result::Result::Err(_)) =
                    #f.as_mut().output_mut()
                {
                    if let ::core::option::Option::Some(::core::result::Result::Err(e)) =
                        #f.as_mut().take_output()
                    {
                        return ::core::task::Poll::Ready(::core::result::Result::Err(e));
                    }
                }
            }
        });
        quote_spanned! {site=>
            #i => {
                if ::core::future::Future::poll(#f.as_mut(), __sim_cx).is_pending() {
                    __sim_done = false;
                }
                #check
            }
        }
    });
    let outputs = names.iter().map(|f| {
        if is_try {
            quote_spanned! {site=>
                match #f.as_mut().take_output() {
                    ::core::option::Option::Some(::core::result::Result::Ok(v)) => v,
                    _ => ::core::unreachable!("try_join!: a future without output"),
                }
            }
        } else {
            quote_spanned! {site=> #f.as_mut().take_output().expect("join!: a future without output") }
        }
    });
    let (skip, rotate) = if join.biased {
        (
            quote_spanned! {site=> let __sim_skip: usize = 0; },
            quote_spanned! {site=>},
        )
    } else {
        (
            quote_spanned! {site=> let mut __sim_skip: usize = 0; },
            quote_spanned! {site=> __sim_skip = if __sim_skip + 1 == #n { 0 } else { __sim_skip + 1 }; },
        )
    };
    let (ready, result) = if is_try {
        (
            quote_spanned! {site=> ::core::task::Poll::Ready(::core::result::Result::Ok(())) },
            quote_spanned! {site=>
                match __sim_joined {
                    ::core::result::Result::Ok(()) => ::core::result::Result::Ok((#(#outputs,)*)),
                    ::core::result::Result::Err(e) => ::core::result::Result::Err(e),
                }
            },
        )
    } else {
        (
            quote_spanned! {site=> ::core::task::Poll::Ready(()) },
            quote_spanned! {site=> { let () = __sim_joined; (#(#outputs,)*) }},
        )
    };
    Ok(quote_spanned! {site=> {
        #(#pins)*
        #skip
        let __sim_joined = ::core::future::poll_fn(|__sim_cx: &mut ::core::task::Context<'_>| {
            let mut __sim_done = true;
            for __sim_i in __sim_skip..__sim_skip + #n {
                let __sim_branch = if __sim_i >= #n { __sim_i - #n } else { __sim_i };
                match __sim_branch {
                    #(#arms)*
                    _ => ::core::unreachable!("join!: no such branch"),
                }
            }
            #rotate
            if __sim_done {
                #ready
            } else {
                ::core::task::Poll::Pending
            }
        })
        .await;
        #result
    }})
}
