# Installs ee-core VERSION from the npm registry under PREFIX (once): the real peer of the
# ee-core tests. cmake -DPREFIX=<dir> -DVERSION=<x.y.z> -P install.cmake
if(EXISTS "${PREFIX}/node_modules/ee-core/package.json")
  file(READ "${PREFIX}/node_modules/ee-core/package.json" installed)
  if(installed MATCHES "\"version\": \"${VERSION}\"")
    return()
  endif()
endif()
find_program(NPM npm REQUIRED)
file(MAKE_DIRECTORY "${PREFIX}")
file(WRITE "${PREFIX}/package.json" "{\"private\": true}\n")
execute_process(COMMAND "${NPM}" install --no-audit --no-fund --loglevel=error "ee-core@${VERSION}"
                WORKING_DIRECTORY "${PREFIX}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "npm install ee-core@${VERSION} failed (${rc})")
endif()
message(STATUS "ee-core ${VERSION} installed under ${PREFIX}")
