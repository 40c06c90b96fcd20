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

use proc_macro::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{parse_macro_input, Ident, ItemFn, LitStr, Token};

/// The attribute's arguments: a path pattern, then optional `method = "..."`.
struct RouteArgs {
    pattern: LitStr,
    method: Option<LitStr>,
}

impl Parse for RouteArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let pattern: LitStr = input.parse()?;
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
    let args = parse_macro_input!(attr as RouteArgs);
    let func = parse_macro_input!(item as ItemFn);
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
