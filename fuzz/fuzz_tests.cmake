# Included by the top-level CMakeLists.txt when HEARTSTREAM_FUZZ is on: builds fuzz/ with clang
# (its own configure in <build>/fuzz, part of the default build) and registers one ctest test per
# target, labelled `fuzz`, that runs it for HEARTSTREAM_FUZZ_SECONDS on its seed corpus.
include(ExternalProject)

set(HEARTSTREAM_FUZZ_SECONDS 30 CACHE STRING "Seconds each fuzz target runs under ctest")
# clang 16: clang 14 cannot compile C++20 lambdas that capture structured bindings.
find_program(HEARTSTREAM_FUZZ_CXX NAMES clang++-16 clang++ DOC "clang++ with libFuzzer for fuzz/")
find_program(HEARTSTREAM_FUZZ_SYMBOLIZER NAMES llvm-symbolizer-16 llvm-symbolizer DOC "symbolizes fuzz crash stacks")

set(fuzz_dir "${CMAKE_BINARY_DIR}/fuzz")
set(fuzz_targets safetensors_header tokenizer_json tokenizer_encode daemon_config protocol http_request)

if(HEARTSTREAM_FUZZ_CXX)
  ExternalProject_Add(fuzz_targets
    SOURCE_DIR "${PROJECT_SOURCE_DIR}/fuzz"
    BINARY_DIR "${fuzz_dir}/build"
    CMAKE_ARGS -DCMAKE_CXX_COMPILER=${HEARTSTREAM_FUZZ_CXX} -DCMAKE_BUILD_TYPE=RelWithDebInfo
    BUILD_ALWAYS ON
    INSTALL_COMMAND "")
else()
  message(STATUS "heartstream: no clang++ found; the fuzz tests will be skipped")
endif()

foreach(target IN LISTS fuzz_targets)
  add_test(NAME fuzz_${target}
           COMMAND "${PROJECT_SOURCE_DIR}/fuzz/run_fuzzer.sh" "${fuzz_dir}/build/fuzz_${target}"
                   ${HEARTSTREAM_FUZZ_SECONDS} "${PROJECT_SOURCE_DIR}/fuzz/corpus/${target}" "${fuzz_dir}/${target}")
  set_tests_properties(fuzz_${target} PROPERTIES
    LABELS fuzz
    SKIP_RETURN_CODE 77
    TIMEOUT 300
    ENVIRONMENT "ASAN_SYMBOLIZER_PATH=${HEARTSTREAM_FUZZ_SYMBOLIZER}")
endforeach()