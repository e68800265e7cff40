//! `join!` and `try_join!`: poll several futures in one task until all complete (or,
//! for `try_join!`, one fails), with tokio's semantics.
//!
//! The futures, each in a `MaybeDone`, are pinned on the stack together; a `poll_fn`
//! polls the ones not done, starting one branch further each poll (tokio's rotation
//! for fairness; always branch 0 under `biased;`). `try_join!` returns the first `Err` it
//! sees, dropping the others.

use proc_macro2::{Literal, Span, TokenStream};
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
    let futures = join.futures.iter().map(|e| {
        quote_spanned! {site=>
            __sim_support::maybe_done(::core::future::IntoFuture::into_future(#e))
        }
    });
    let (store, project) = pinned_together(site, futures.collect(), &names);
    let arms = names.iter().enumerate().map(|(i, f)| {
        let i = Literal::u32_unsuffixed(i as u32);
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
    let n = Literal::u32_unsuffixed(n as u32);
    // The rotation's state lives in the closure (a `u32`, as tokio's), none under
    // `biased;`.
    let (skip, start, rotate) = if join.biased {
        (
            quote_spanned! {site=>},
            quote_spanned! {site=> 0u32 },
            quote_spanned! {site=>},
        )
    } else {
        (
            quote_spanned! {site=> let mut __sim_skip: u32 = 0; },
            quote_spanned! {site=> __sim_skip },
            quote_spanned! {site=> __sim_skip = if __sim_skip + 1 == #n { 0 } else { __sim_skip + 1 }; },
        )
    };
    let ready = if is_try {
        quote_spanned! {site=> ::core::task::Poll::Ready(::core::result::Result::Ok((#(#outputs,)*))) }
    } else {
        quote_spanned! {site=> ::core::task::Poll::Ready((#(#outputs,)*)) }
    };
    // The closure owns the futures' pointer and the rotation, and takes the outputs:
    // the joining future holds the futures, one pointer and a `u32` (tokio's layout).
    Ok(quote_spanned! {site=> {
        #store
        #skip
        ::core::future::poll_fn(move |__sim_cx: &mut ::core::task::Context<'_>| {
            #project
            let mut __sim_done = true;
            let __sim_start: u32 = #start;
            for __sim_i in __sim_start..__sim_start + #n {
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
        .await
    }})
}

/// The statement that pins `futures` on the stack together, as nested pairs
/// `(f0, (f1, f2))` behind one pointer (`__sim_futures`), and the statements (for the
/// poll closure, which owns that pointer) that bind each of `names` to its future,
/// pinned, through `sim`'s sound pair projection. One future is pinned alone.
pub(crate) fn pinned_together(
    site: Span,
    futures: Vec<TokenStream>,
    names: &[syn::Ident],
) -> (TokenStream, TokenStream) {
    let nested = futures
        .into_iter()
        .rev()
        .reduce(|rest, f| quote_spanned! {site=> (#f, #rest) })
        .expect("at least one future");
    let store = quote_spanned! {site=>
        let mut __sim_futures = ::core::pin::pin!(#nested);
    };
    let (last, firsts) = names.split_last().expect("at least one future");
    let project = quote_spanned! {site=>
        let __sim_rest = __sim_futures.as_mut();
        #(let (mut #firsts, __sim_rest) = __sim_support::pin_pair(__sim_rest);)*
        let mut #last = __sim_rest;
    };
    (store, project)
}
