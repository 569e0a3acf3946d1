//! Fuzz target `sync`: see `csirtmesh_fuzzing::sync_frame`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::sync_frame(data));
