//! Fuzz target `charter`: see `csirtmesh_fuzzing::charter`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::charter(data));
