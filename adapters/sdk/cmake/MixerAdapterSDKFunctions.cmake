# mixer_add_adapter(<target> SOURCES <files>... [OUTPUT_NAME <stem>] [OUTPUT_DIRECTORY <dir>]
#                   [LIBRARIES <libs>...])
#
# Builds an adapter shared object `<stem>.so` (default stem: <target>) against the adapter SDK:
# a MODULE library with hidden symbol visibility, so the only exported symbol is the entry point
# that MIXER_DEFINE_ADAPTER (or MIXER_ADAPTER_EXPORT) marks, and with no undefined symbols left for
# the host to resolve. The same function builds in-tree and third-party adapters. Needs CMake 3.17.
function(mixer_add_adapter target)
  cmake_parse_arguments(A "" "OUTPUT_NAME;OUTPUT_DIRECTORY" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT A_SOURCES)
    message(FATAL_ERROR "mixer_add_adapter(${target}): SOURCES is required")
  endif()
  if(NOT A_OUTPUT_NAME)
    set(A_OUTPUT_NAME ${target})
  endif()
  add_library(${target} MODULE ${A_SOURCES})
  target_link_libraries(${target} PRIVATE MixerAdapterSDK::sdk ${A_LIBRARIES})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ${A_OUTPUT_NAME}
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
    # Fail at link time, not at dlopen, on a missing symbol; keep static libraries' symbols private.
    # Export nothing but the entry point, even template instantiations from system headers.
    target_link_options(${target} PRIVATE "LINKER:--no-undefined" "LINKER:--exclude-libs,ALL"
      "LINKER:--version-script=${CMAKE_CURRENT_FUNCTION_LIST_DIR}/mixer_adapter.map")
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS
      ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/mixer_adapter.map)
  endif()
  if(A_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${A_OUTPUT_DIRECTORY})
  endif()
endfunction()
