# Build commit for the custody manifest and --version.
execute_process(COMMAND git rev-parse --short=12 HEAD
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} OUTPUT_VARIABLE VOICEMAN_GIT_COMMIT
  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT VOICEMAN_GIT_COMMIT)
  set(VOICEMAN_GIT_COMMIT "unknown")
endif()
configure_file(${CMAKE_SOURCE_DIR}/src/voiceman/core/version.h.in
  ${CMAKE_BINARY_DIR}/generated/voiceman/core/version.h @ONLY)
