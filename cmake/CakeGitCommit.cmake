# Run at build time (cmake -P), not at configure time: writes OUT, a C++ source that returns the
# commit the `cake` binary is built from, so that a run's config.json names the code that produced
# it even when the build folder was configured many commits ago. "-dirty" marks a build from a
# tree with uncommitted changes to tracked files; "unknown" a build outside a git checkout. OUT is
# rewritten only when its text changes, so an unchanged commit recompiles nothing.
#
#   cmake -DSOURCE_DIR=<repository> -DOUT=<build>/git_commit.cpp -P cmake/CakeGitCommit.cmake
execute_process(COMMAND git rev-parse --short HEAD
  WORKING_DIRECTORY ${SOURCE_DIR}
  OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE
  RESULT_VARIABLE rev_parse_result ERROR_QUIET)
if(NOT rev_parse_result EQUAL 0 OR commit STREQUAL "")
  set(commit "unknown")
else()
  execute_process(COMMAND git status --porcelain --untracked-files=no
    WORKING_DIRECTORY ${SOURCE_DIR}
    OUTPUT_VARIABLE changes RESULT_VARIABLE status_result ERROR_QUIET)
  if(status_result EQUAL 0 AND NOT changes STREQUAL "")
    string(APPEND commit "-dirty")
  endif()
endif()

set(text "// Written by cmake/CakeGitCommit.cmake at build time; do not edit.\n#include \"tools/build_info.h\"\n\nconst char* cake::cli::git_commit() { return \"${commit}\"; }\n")
set(old "")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL text)
  file(WRITE ${OUT} "${text}")
endif()
