//! `#[route]`: declares a miniweb handler with its path right beside it, the Rust form of
//! Flask's and Bottle's `@route("/index.html")`.
//!
//! ```ignore
//! #[route("/add/{code}.html", method = "POST")]
//! fn add(cx: &Ctx) -> Result<Response, Error> { ... }
//! ```
//!
//! expands to the function, unchanged, plus an `inventory::submit!` of a
//! `miniweb::framework::RouteDef`, which the framework collects at start-up. Pattern syntax is
//! checked by the framework when it builds its route table.
//!
//! A malformed attribute is a `compile_error!` pointing at the attribute, and the function is
//! still emitted unchanged, so that the one error the user sees is about the attribute and not
//! a cascade about a function that vanished.

use proc_macro::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, ItemFn, LitStr, Token};

/// The attribute's arguments: a path pattern, then optional `method = "..."`.
struct RouteArgs {
    pattern: LitStr,
    method: Option<LitStr>,
}

impl Parse for RouteArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let pattern: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "#[route] takes a path pattern first, as a string: #[route(\"/index.html\")]",
            )
        })?;
        if !pattern.value().starts_with('/') {
            return Err(syn::Error::new(
                pattern.span(),
                "a route pattern starts with `/`",
            ));
        }
        let mut method = None;
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let value: LitStr = input.parse()?;
            if key != "method" {
                return Err(syn::Error::new(
                    key.span(),
                    "unknown route option; the only one is `method = \"POST\"`",
                ));
            }
            let m = value.value();
            if m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(syn::Error::new(
                    value.span(),
                    "a method is an upper-case word such as \"GET\" or \"POST\"",
                ));
            }
            if method.replace(value).is_some() {
                return Err(syn::Error::new(key.span(), "`method` given twice"));
            }
        }
        Ok(RouteArgs { pattern, method })
    }
}

/// Registers the function below as the handler of a path pattern (and method, `GET` by default).
#[proc_macro_attribute]
pub fn route(attr: TokenStream, item: TokenStream) -> TokenStream {
    let unchanged = proc_macro2::TokenStream::from(item.clone());
    let with_error = |e: syn::Error| {
        let error = e.to_compile_error();
        TokenStream::from(quote! { #error #unchanged })
    };
    let args = match syn::parse::<RouteArgs>(attr) {
        Ok(args) => args,
        Err(e) => return with_error(e),
    };
    let func =
        match syn::parse::<ItemFn>(item) {
            Ok(func) => func,
            // The attribute itself is where the mistake is shown.
            Err(_) => return with_error(syn::Error::new(
                proc_macro2::Span::call_site(),
                "#[route] goes on a handler function: fn name(cx: &Ctx) -> Result<Response, Error>",
            )),
        };
    let name = &func.sig.ident;
    let pattern = &args.pattern;
    let method = args
        .method
        .unwrap_or_else(|| LitStr::new("GET", pattern.span()));
    quote! {
        #func

        ::miniweb::framework::inventory::submit! {
            ::miniweb::framework::RouteDef {
                method: #method,
                pattern: #pattern,
                handler: #name,
                name: ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)),
            }
        }
    }
    .into()
}
