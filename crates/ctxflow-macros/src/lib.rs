//! `#[ctxflow::main]` and `#[ctxflow::test]`: tokio's entry-point attributes, on a runtime built
//! with ctxflow's `propagate_context()`. Use them through `ctxflow` (feature `macros`); the
//! expansion names `::ctxflow`.

#![forbid(unsafe_code)]

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::quote;
use syn::parse::Parser;
use syn::{Error, ItemFn, LitInt, LitStr, Result, parse_macro_input};

/// `flavor` and `worker_threads`, as `#[tokio::main]` takes them.
struct Options {
    multi_thread: bool,
    worker_threads: Option<LitInt>,
}

fn options(args: TokenStream, multi_thread: bool) -> Result<Options> {
    let mut options = Options { multi_thread, worker_threads: None };
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("flavor") {
            let flavor: LitStr = meta.value()?.parse()?;
            options.multi_thread = match flavor.value().as_str() {
                "multi_thread" => true,
                "current_thread" => false,
                _ => return Err(Error::new(flavor.span(), "flavor is \"multi_thread\" or \"current_thread\"")),
            };
            Ok(())
        } else if meta.path.is_ident("worker_threads") {
            options.worker_threads = Some(meta.value()?.parse()?);
            Ok(())
        } else {
            Err(meta.error("ctxflow's entry attributes take `flavor` and `worker_threads`"))
        }
    });
    parser.parse(args)?;
    if options.worker_threads.is_some() && !options.multi_thread {
        return Err(Error::new(Span::call_site(), "worker_threads needs flavor = \"multi_thread\""));
    }
    Ok(options)
}

/// `f`'s body, run to completion on a new runtime that propagates context.
fn expand(mut f: ItemFn, options: Options, test: bool) -> Result<proc_macro2::TokenStream> {
    if f.sig.asyncness.take().is_none() {
        return Err(Error::new_spanned(f.sig.fn_token, "the function must be `async`"));
    }
    let builder = if options.multi_thread {
        quote!(::ctxflow::__macros::tokio::runtime::Builder::new_multi_thread())
    } else {
        quote!(::ctxflow::__macros::tokio::runtime::Builder::new_current_thread())
    };
    let workers = options.worker_threads.map(|n| quote!(.worker_threads(#n)));
    let body = &f.block;
    let test_attr = test.then(|| quote!(#[::core::prelude::v1::test]));
    let attrs = &f.attrs;
    let (vis, sig) = (&f.vis, &f.sig);
    Ok(quote! {
        #test_attr
        #(#attrs)*
        #vis #sig {
            use ::ctxflow::runtime::BuilderExt as _;
            let body = async #body;
            #builder #workers
                .enable_all()
                .propagate_context()
                .build()
                .expect("a tokio runtime")
                .block_on(body)
        }
    })
}

/// `#[tokio::main]`, on a runtime built with `propagate_context()`: every task spawned with plain
/// `tokio::spawn` inherits its spawner's context. Takes `flavor` (`"multi_thread"`, the default,
/// or `"current_thread"`) and `worker_threads`, as `#[tokio::main]` does.
///
/// ```
/// static REQUEST: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("request");
///
/// #[ctxflow::main(worker_threads = 2)]
/// async fn main() {
///     let seen = REQUEST.scope(7, async { tokio::spawn(async { REQUEST.get() }).await.unwrap() }).await;
///     assert_eq!(seen, Some(7));
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    let f = parse_macro_input!(item as ItemFn);
    options(args, true).and_then(|o| expand(f, o, false)).unwrap_or_else(Error::into_compile_error).into()
}

/// `#[tokio::test]`, on a runtime built with `propagate_context()`. Takes `flavor`
/// (`"current_thread"`, the default, or `"multi_thread"`) and `worker_threads`, as
/// `#[tokio::test]` does.
///
/// ```
/// static REQUEST: ctxflow::ContextVar<u32> = ctxflow::ContextVar::new("request");
///
/// #[ctxflow::test(flavor = "multi_thread")]
/// async fn plain_spawn_inherits() {
///     let seen = REQUEST.scope(7, async { tokio::spawn(async { REQUEST.get() }).await.unwrap() }).await;
///     assert_eq!(seen, Some(7));
/// }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    let f = parse_macro_input!(item as ItemFn);
    options(args, false).and_then(|o| expand(f, o, true)).unwrap_or_else(Error::into_compile_error).into()
}
