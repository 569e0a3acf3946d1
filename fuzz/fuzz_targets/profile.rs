//! Fuzz target `profile`: see `csirtmesh_fuzzing::profile`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::profile(data));
