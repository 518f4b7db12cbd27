# The three ways a project uses childproc, each from outside the tree:
#   1. find_package(childproc) with only the install prefix on CMAKE_PREFIX_PATH;
#   2. `c++ -std=c++20 app.cpp $(pkg-config --cflags --libs childproc)` with only the prefix's
#      pkgconfig folder on PKG_CONFIG_PATH;
#   3. add_subdirectory(childproc): it must leave the consumer's CMAKE_BUILD_TYPE and its own
#      tests/examples alone (configured, not built: 1 proves the code builds).
# With -DBUILD_DIR the build tree is installed into WORK_DIR/prefix first; with -DPREFIX an
# existing installation is used (CI passes the README's /opt/childproc).
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}")
  endif()
endfunction()
if(NOT PREFIX)
  set(PREFIX ${WORK_DIR}/prefix)
  run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
endif()
set(here ${SOURCE_DIR}/tests/package_consumer)

run(${CMAKE_COMMAND} -S ${here} -B ${WORK_DIR}/cmake -G ${GENERATOR} -DCMAKE_PREFIX_PATH=${PREFIX})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/cmake)
run(${WORK_DIR}/cmake/consumer)
message(STATUS "find_package(childproc) against ${PREFIX}: built and ran")

find_program(PKG_CONFIG NAMES pkg-config pkgconf REQUIRED)
file(GLOB pc_file ${PREFIX}/lib*/pkgconfig/childproc.pc ${PREFIX}/lib/*/pkgconfig/childproc.pc)
if(NOT pc_file)
  message(FATAL_ERROR "no childproc.pc under ${PREFIX}")
endif()
get_filename_component(pc_dir ${pc_file} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
execute_process(COMMAND ${PKG_CONFIG} --cflags --libs childproc OUTPUT_VARIABLE flags
                OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
separate_arguments(flags UNIX_COMMAND "${flags}")
if(NOT CXX)
  set(CXX c++)
endif()
run(${CXX} -std=c++20 ${here}/main.cpp ${flags} -o ${WORK_DIR}/pkg_consumer)
run(${WORK_DIR}/pkg_consumer)
message(STATUS "pkg-config consumer (${flags}): built and ran")

run(${CMAKE_COMMAND} -S ${here}/subproject -B ${WORK_DIR}/subproject -G ${GENERATOR}
    -DCHILDPROC_SOURCE_DIR=${SOURCE_DIR})
message(STATUS "add_subdirectory(childproc): consumer's build type and options left alone")
