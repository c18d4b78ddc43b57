# mixer_proto_library(NAME <target> ROOT <import root> PROTOS <files relative to ROOT> [GRPC]
#                     [IMPORTS <more import roots>] [DEPS <proto libraries those roots belong to>])
# Generates C++ (and gRPC stubs when GRPC is given) into the build tree, keeping the import paths,
# so `#include "mixer/v1/mixer.pb.h"` works for the library's users.
function(mixer_proto_library)
  cmake_parse_arguments(P "GRPC" "NAME;ROOT" "PROTOS;DEPS;IMPORTS" ${ARGN})
  set(import_args)
  foreach(dir ${P_IMPORTS})
    list(APPEND import_args -I ${dir})
  endforeach()
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/gen)
  file(MAKE_DIRECTORY ${out_dir})
  set(srcs)
  foreach(proto ${P_PROTOS})
    string(REGEX REPLACE "\\.proto$" "" base ${proto})
    set(outputs ${out_dir}/${base}.pb.cc ${out_dir}/${base}.pb.h)
    set(plugin_args)
    set(has_service FALSE)
    if(P_GRPC)
      file(READ ${P_ROOT}/${proto} content)
      if(content MATCHES "\nservice ")
        set(has_service TRUE)
        list(APPEND outputs ${out_dir}/${base}.grpc.pb.cc ${out_dir}/${base}.grpc.pb.h)
        set(plugin_args --grpc_out=${out_dir} --plugin=protoc-gen-grpc=${GRPC_CPP_PLUGIN})
      endif()
    endif()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND protobuf::protoc --cpp_out=${out_dir} ${plugin_args} -I ${P_ROOT} ${import_args} -I /usr/include ${P_ROOT}/${proto}
      DEPENDS ${P_ROOT}/${proto} protobuf::protoc
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND srcs ${outputs})
  endforeach()
  add_library(${P_NAME} STATIC ${srcs})
  target_include_directories(${P_NAME} PUBLIC ${out_dir})
  target_link_libraries(${P_NAME} PUBLIC protobuf::libprotobuf gRPC::grpc++ ${P_DEPS})
  # Generated code is not ours to warn about.
  target_compile_options(${P_NAME} PRIVATE -w)
endfunction()

# mixer_test(NAME <name> SOURCES <files> DEPS <libs> [LABELS <labels>])
function(mixer_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  set_tests_properties(${T_NAME} PROPERTIES
    ENVIRONMENT "MIXER_BUILD_DIR=${CMAKE_BINARY_DIR};MIXER_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
    TIMEOUT 300)
  if(T_LABELS)
    set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()

# mixer_fuzz_target(NAME <name> SOURCES <files> DEPS <libs> CORPUS <dir>)
# With MIXER_LIBFUZZER the target links libFuzzer; otherwise it links a replay driver and ctest
# runs it over the committed corpus, so every corpus input is a regression test.
function(mixer_fuzz_target)
  cmake_parse_arguments(F "" "NAME;CORPUS" "SOURCES;DEPS" ${ARGN})
  add_executable(${F_NAME} ${F_SOURCES})
  target_link_libraries(${F_NAME} PRIVATE ${F_DEPS})
  if(MIXER_LIBFUZZER)
    target_link_options(${F_NAME} PRIVATE -fsanitize=fuzzer)
    if(NOT TARGET fuzz_targets)
      add_custom_target(fuzz_targets)
    endif()
    add_dependencies(fuzz_targets ${F_NAME})
  else()
    target_sources(${F_NAME} PRIVATE ${CMAKE_SOURCE_DIR}/tests/fuzz/replay_main.cc)
  endif()
  if(MIXER_LIBFUZZER)
    add_test(NAME ${F_NAME}_replay COMMAND ${F_NAME} -runs=0 ${F_CORPUS})
  else()
    add_test(NAME ${F_NAME}_replay COMMAND ${F_NAME} ${F_CORPUS})
  endif()
  set_tests_properties(${F_NAME}_replay PROPERTIES LABELS fuzz TIMEOUT 300)
endfunction()
