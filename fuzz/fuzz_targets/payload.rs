//! Fuzz target `payload`: see `csirtmesh_fuzzing::payload`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::payload(data));
