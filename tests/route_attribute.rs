//! `#[route]` with a malformed attribute: one compile error, at the attribute, and the function
//! is kept (each case's `main` uses it, so a vanished function would add an error). The
//! expected messages are the `.stderr` files beside each case.

#[test]
fn malformed_route_attributes_fail_at_the_attribute_and_keep_the_function() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/route_attribute/*.rs");
}
