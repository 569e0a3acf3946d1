//! Fuzz target `api_json`: see `csirtmesh_fuzzing::api_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::api_json(data));
