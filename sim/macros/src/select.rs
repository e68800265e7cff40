//! `select!`: waits on several futures in one task and runs the handler of the first
//! to complete whose output matches its pattern, with tokio's grammar and semantics.
//!
//! Expansion, for branches `pat_i = fut_i, if cond_i => handler_i`: preconditions are
//! evaluated, then every future (each pinned on the stack); a `poll_fn` polls the
//! enabled ones starting from a branch drawn per poll from the run's generator
//! (`support::branch_start`; branch 0 under `biased;`), unless the task has spent its
//! cooperative budget (`support::budget_spent`: it yields first, as tokio's); a completed output that does not
//! match its pattern disables its branch. The futures are dropped before the handler
//! runs, so it may use what they borrowed.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::visit_mut::VisitMut;
use syn::{Expr, Pat, Token};

/// `select!`'s input.
struct Select {
    biased: bool,
    branches: Vec<Branch>,
    otherwise: Option<Expr>,
}

struct Branch {
    pat: Pat,
    future: Expr,
    condition: Option<Expr>,
    handler: Expr,
}

mod kw {
    syn::custom_keyword!(biased);
}

/// A leading `biased;` (tokio's marker for polling in the written order), consumed if
/// present: shared by `select!` and `join!`.
pub(crate) fn parse_biased(input: ParseStream<'_>) -> syn::Result<bool> {
    if input.peek(kw::biased) && input.peek2(Token![;]) {
        input.parse::<kw::biased>()?;
        input.parse::<Token![;]>()?;
        Ok(true)
    } else {
        Ok(false)
    }
}

impl Parse for Select {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let biased = parse_biased(input)?;
        let mut branches = Vec::new();
        let mut otherwise = None;
        while !input.is_empty() {
            if input.peek(Token![else]) {
                let token = input.parse::<Token![else]>()?;
                input.parse::<Token![=>]>()?;
                let expr = handler(input)?;
                if otherwise.replace(expr).is_some() {
                    return Err(syn::Error::new_spanned(
                        token,
                        "select! takes at most one `else` branch",
                    ));
                }
                continue;
            }
            let pat = Pat::parse_multi_with_leading_vert(input)?;
            input.parse::<Token![=]>()?;
            let future = input.parse::<Expr>()?;
            let condition = if input.peek(Token![,]) && input.peek2(Token![if]) {
                input.parse::<Token![,]>()?;
                input.parse::<Token![if]>()?;
                Some(input.parse::<Expr>()?)
            } else {
                None
            };
            input.parse::<Token![=>]>()?;
            let handler = handler(input)?;
            branches.push(Branch {
                pat,
                future,
                condition,
                handler,
            });
        }
        Ok(Select {
            biased,
            branches,
            otherwise,
        })
    }
}

/// A handler: a block (then an optional comma), or an expression followed by a comma
/// unless it is the last (as match arms).
fn handler(input: ParseStream<'_>) -> syn::Result<Expr> {
    if input.peek(syn::token::Brace) {
        let block: syn::ExprBlock = input.parse()?;
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        }
        return Ok(Expr::Block(block));
    }
    let expr = input.parse::<Expr>()?;
    if !input.is_empty() {
        input.parse::<Token![,]>()?;
    }
    Ok(expr)
}

/// Removes `ref` and `mut` from bindings, so the pattern can be tried on a reference
/// to the output without moving it.
struct Clean;

impl VisitMut for Clean {
    fn visit_pat_ident_mut(&mut self, i: &mut syn::PatIdent) {
        i.by_ref = None;
        i.mutability = None;
        syn::visit_mut::visit_pat_ident_mut(self, i);
    }
}

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let select: Select = syn::parse2(input)?;
    let n = select.branches.len();
    if n == 0 {
        // Nothing to wait for: the `else` branch, as tokio's.
        return match &select.otherwise {
            Some(e) => Ok(quote_spanned! {Span::mixed_site()=> { #e } }),
            None => Err(syn::Error::new(
                Span::call_site(),
                "select! needs at least one branch",
            )),
        };
    }
    if n > 64 {
        return Err(syn::Error::new(
            Span::call_site(),
            "select! takes at most 64 branches",
        ));
    }
    let site = Span::mixed_site();
    let out = syn::Ident::new("__SimSelectOut", site);
    let disabled = syn::Ident::new("__sim_disabled", site);
    let futures: Vec<_> = (0..n)
        .map(|i| format_ident!("__sim_future_{}", i, span = site))
        .collect();
    let variants: Vec<_> = (0..n)
        .map(|i| format_ident!("_{}", i, span = site))
        .collect();
    let generics: Vec<_> = (0..n)
        .map(|i| format_ident!("T{}", i, span = site))
        .collect();

    let conditions = select.branches.iter().enumerate().map(|(i, b)| {
        let bit = 1u64 << i;
        b.condition.as_ref().map(|c| {
            quote_spanned! {site=> if !(#c) { #disabled |= #bit; } }
        })
    });
    // The future expressions go into one tuple first, so that temporaries they borrow
    // (`&mut std::future::ready(())`) live as long as the select (temporary lifetime
    // extension), then they are pinned on the stack together, behind one pointer that
    // the poll closure owns (tokio's layout: the futures, one pointer, the mask).
    let all = syn::Ident::new("__sim_exprs", site);
    let exprs = select.branches.iter().map(|b| &b.future);
    let tuple = quote_spanned! {site=> let #all = ( #(#exprs,)* ); };
    let pinned = (0..n).map(|i| {
        let i = syn::Index::from(i);
        quote_spanned! {site=> ::core::future::IntoFuture::into_future(#all.#i) }
    });
    let (store, project) = crate::join::pinned_together(site, pinned.collect(), &futures);
    let arms = select.branches.iter().enumerate().map(|(i, b)| {
        let bit = 1u64 << i;
        let f = &futures[i];
        let v = &variants[i];
        let mut pat = b.pat.clone();
        Clean.visit_pat_mut(&mut pat);
        quote_spanned! {site=>
            #i => {
                if #disabled & #bit != 0 {
                    continue;
                }
                let __sim_output = match ::core::future::Future::poll(#f.as_mut(), __sim_cx) {
                    ::core::task::Poll::Ready(output) => output,
                    ::core::task::Poll::Pending => {
                        __sim_pending = true;
                        continue;
                    }
                };
                #disabled |= #bit;
                #[allow(unused_variables, unused_mut, unreachable_patterns, clippy::redundant_pattern_matching)]
                match &__sim_output {
                    #pat => {}
                    _ => continue,
                }
                return ::core::task::Poll::Ready(#out::#v(__sim_output));
            }
        }
    });
    let start = if select.biased {
        quote_spanned! {site=> 0usize }
    } else {
        quote_spanned! {site=> __sim_support::branch_start(#n) }
    };
    let handlers = select.branches.iter().zip(&variants).map(|(b, v)| {
        let pat = &b.pat;
        let handler = &b.handler;
        quote_spanned! {site=> #out::#v(#pat) => #handler, }
    });
    let otherwise = match &select.otherwise {
        Some(e) => quote_spanned! {site=> #e },
        None => quote_spanned! {site=>
            ::core::panic!("all branches are disabled and there is no else branch")
        },
    };
    Ok(quote_spanned! {site=> {
        enum #out<#(#generics),*> {
            #(#variants(#generics),)*
            Disabled,
        }
        let __sim_selected = {
            let mut #disabled: u64 = 0;
            #(#conditions)*
            #tuple
            #store
            // A branch whose future never completes (output `!`) makes the code after
            // its poll unreachable; tokio's `select!` warns of none.
            #[allow(unreachable_code)]
            let __sim_poll = move |__sim_cx: &mut ::core::task::Context<'_>| {
                #project
                // A task out of budget yields here, before any branch (as tokio's).
                if __sim_support::budget_spent(__sim_cx) {
                    return ::core::task::Poll::Pending;
                }
                let __sim_start: usize = #start;
                let mut __sim_pending = false;
                for __sim_i in __sim_start..__sim_start + #n {
                    let __sim_branch = if __sim_i >= #n { __sim_i - #n } else { __sim_i };
                    match __sim_branch {
                        #(#arms)*
                        _ => ::core::unreachable!("select!: no such branch"),
                    }
                }
                if __sim_pending {
                    ::core::task::Poll::Pending
                } else {
                    ::core::task::Poll::Ready(#out::Disabled)
                }
            };
            ::core::future::poll_fn(__sim_poll).await
        };
        #[allow(unused_mut)]
        let mut __sim_selected = __sim_selected;
        #[allow(unreachable_patterns)]
        match __sim_selected {
            #(#handlers)*
            #out::Disabled => #otherwise,
            // A branch is taken only when its output matched its pattern.
            _ => ::core::unreachable!("select!: a branch's output did not match its pattern"),
        }
    }})
}
