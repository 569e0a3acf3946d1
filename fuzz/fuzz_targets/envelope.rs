//! Fuzz target `envelope`: see `csirtmesh_fuzzing::envelope`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::envelope(data));
