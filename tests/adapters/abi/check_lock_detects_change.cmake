# Proves the ABI lock check fails the build for an unannounced header change, and for a version
# bump without a new lock, and accepts a bump with its new lock.
#   cmake -DHEADER=... -DLOCK=... -DSCRIPT=CheckAbiLock.cmake -DWORK=<scratch dir> -P this
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
file(READ ${HEADER} content)

function(expect_check header lock expected_rc pattern)
  execute_process(COMMAND ${CMAKE_COMMAND} -DHEADER=${header} -DLOCK=${lock} -P ${SCRIPT}
                  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
  if(expected_rc EQUAL 0 AND NOT rc EQUAL 0)
    message(FATAL_ERROR "expected ${header} to pass the lock check; it failed:\n${err}")
  endif()
  if(NOT expected_rc EQUAL 0 AND rc EQUAL 0)
    message(FATAL_ERROR "expected ${header} to fail the lock check; it passed")
  endif()
  string(REGEX REPLACE "[ \n]+" " " err "${err}")  # CMake wraps long messages
  if(pattern AND NOT err MATCHES "${pattern}")
    message(FATAL_ERROR "lock check message does not match '${pattern}':\n${err}")
  endif()
endfunction()

# 1. The committed header passes.
expect_check(${HEADER} ${LOCK} 0 "")

# 2. Any edit without a version bump fails.
file(WRITE ${WORK}/changed.h "${content}\n/* an unannounced change */\n")
expect_check(${WORK}/changed.h ${LOCK} 1 "changed but MIXER_ADAPTER_ABI_VERSION is still")

# 3. A bump without a new lock fails, naming both versions.
string(REGEX MATCH "#define MIXER_ADAPTER_ABI_VERSION_MINOR ([0-9]+)" _ "${content}")
math(EXPR next "${CMAKE_MATCH_1} + 1")
string(REGEX REPLACE "#define MIXER_ADAPTER_ABI_VERSION_MINOR [0-9]+"
       "#define MIXER_ADAPTER_ABI_VERSION_MINOR ${next}" bumped "${content}")
file(WRITE ${WORK}/bumped.h "${bumped}")
expect_check(${WORK}/bumped.h ${LOCK} 1 "version changed \\([0-9]+\\.[0-9]+ -> [0-9]+\\.${next}\\)")

# 4. The bump with its regenerated lock passes.
execute_process(COMMAND ${CMAKE_COMMAND} -DHEADER=${WORK}/bumped.h -DLOCK=${WORK}/abi.lock
                        -DUPDATE=ON -P ${SCRIPT} RESULT_VARIABLE rc)
expect_check(${WORK}/bumped.h ${WORK}/abi.lock 0 "")
