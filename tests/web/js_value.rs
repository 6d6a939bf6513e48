//! JSON.parse output converts to core's `json::Value`, in key order, with a depth bound.

use js_sys::JSON;
use splitbeam::to_value;
use splitbeam_core::json::Value;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

fn parse(text: &str) -> JsValue {
    JSON::parse(text).unwrap()
}

#[wasm_bindgen_test]
fn every_json_type_converts() {
    let value = to_value(&parse(r#"{"s":"é","n":-1.5,"t":true,"z":null,"a":[1,"x"],"o":{"k":2}}"#)).unwrap();
    let expected = Value::Object(vec![
        ("s".into(), Value::String("é".into())),
        ("n".into(), Value::Number(-1.5)),
        ("t".into(), Value::Bool(true)),
        ("z".into(), Value::Null),
        ("a".into(), Value::Array(vec![Value::Number(1.0), Value::String("x".into())])),
        ("o".into(), Value::Object(vec![("k".into(), Value::Number(2.0))])),
    ]);
    assert_eq!(value, expected);
}

#[wasm_bindgen_test]
fn nesting_deeper_than_the_bound_is_refused() {
    let deep = "[".repeat(40) + &"]".repeat(40);
    let err = to_value(&parse(&deep)).unwrap_err();
    assert!(err.contains("deeper than 32"), "{err}");
}

#[wasm_bindgen_test]
fn a_cyclic_object_is_refused_not_a_stack_overflow() {
    let obj = js_sys::Object::new();
    js_sys::Reflect::set(&obj, &"self".into(), &obj).unwrap();
    assert!(to_value(&obj).is_err());
}

#[wasm_bindgen_test]
fn a_function_is_not_a_json_value_and_its_path_is_named() {
    let obj = parse(r#"{"a":{"b":[0,0]}}"#);
    let inner = js_sys::Reflect::get(&js_sys::Reflect::get(&obj, &"a".into()).unwrap(), &"b".into()).unwrap();
    js_sys::Reflect::set(&inner, &1.into(), &js_sys::Function::new_no_args("")).unwrap();
    let err = to_value(&obj).unwrap_err();
    assert!(err.contains("a.b[1]"), "{err}");
}
