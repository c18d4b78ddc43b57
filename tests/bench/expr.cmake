# Expression-language benchmark (included by tests/bench/CMakeLists.txt).
add_executable(expr_bench ${CMAKE_CURRENT_LIST_DIR}/expr_bench.cc ${CMAKE_CURRENT_LIST_DIR}/alloc_counter.cc)
target_link_libraries(expr_bench PRIVATE expr benchmark::benchmark)
add_test(NAME expr_bench_smoke COMMAND expr_bench --benchmark_min_time=0.01)
set_tests_properties(expr_bench_smoke PROPERTIES LABELS bench TIMEOUT 120)
