# Run by `cmake --install` (install(SCRIPT) in CMakeLists.txt): installs
# share/ into DATADIR/scep and man/ into MANDIR, with the installed paths
# filled in. Those files say @SCEP_CGI@, @SCEPCTL@ and @SCEP_DATADIR@
# where a path depends on the prefix; the values come from the prefix this
# install really uses (`--prefix /usr` for the package, /usr/local for
# `make install`), not the one the build was configured with, so one build
# serves both.
#
# Set before this script runs: SCEP_SOURCE_DIR and the GNUInstallDirs
# relative directories SCEP_BINDIR, SCEP_LIBEXECDIR, SCEP_DATADIR, SCEP_MANDIR.

cmake_policy(VERSION 3.25) # "@SCEP_CGI@" is text, not an @VAR@ reference (CMP0053)

function(scep_full out rel)
  if(IS_ABSOLUTE "${rel}")
    set(${out} "${rel}" PARENT_SCOPE)
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${rel}" PARENT_SCOPE)
  endif()
endfunction()

scep_full(bindir "${SCEP_BINDIR}")
scep_full(libexecdir "${SCEP_LIBEXECDIR}")
scep_full(datadir "${SCEP_DATADIR}")
scep_full(mandir "${SCEP_MANDIR}")

# install_text(SOURCE DEST): DEST (an absolute installed path) gets SOURCE
# with the placeholders replaced, mode 0644 (0755 if SOURCE is executable).
function(install_text source dest)
  file(READ "${source}" text)
  string(REPLACE "@SCEP_CGI@" "${libexecdir}/scep/scep.cgi" text "${text}")
  string(REPLACE "@SCEPCTL@" "${bindir}/scepctl" text "${text}")
  string(REPLACE "@SCEP_DATADIR@" "${datadir}/scep" text "${text}")
  if(text MATCHES "@SCEP_[A-Z_]*@|@SCEPCTL@")
    message(FATAL_ERROR "${source}: unknown placeholder ${CMAKE_MATCH_0}")
  endif()
  set(path "$ENV{DESTDIR}${dest}")
  message(STATUS "Installing: ${path}")
  file(WRITE "${path}" "${text}")
  set(mode OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  if(IS_DIRECTORY "${source}" OR NOT EXISTS "${source}")
    message(FATAL_ERROR "${source}: not a file")
  endif()
  execute_process(COMMAND test -x "${source}" RESULT_VARIABLE not_executable)
  if(not_executable EQUAL 0)
    list(APPEND mode OWNER_EXECUTE GROUP_EXECUTE WORLD_EXECUTE)
  endif()
  file(CHMOD "${path}" PERMISSIONS ${mode})
  set(CMAKE_INSTALL_MANIFEST_FILES ${CMAKE_INSTALL_MANIFEST_FILES} "${dest}" PARENT_SCOPE)
endfunction()

file(GLOB_RECURSE shared RELATIVE "${SCEP_SOURCE_DIR}/share" "${SCEP_SOURCE_DIR}/share/*")
list(SORT shared)
foreach(name IN LISTS shared)
  install_text("${SCEP_SOURCE_DIR}/share/${name}" "${datadir}/scep/${name}")
endforeach()

file(GLOB pages RELATIVE "${SCEP_SOURCE_DIR}/man" "${SCEP_SOURCE_DIR}/man/*.[1-8]")
list(SORT pages)
foreach(page IN LISTS pages)
  string(REGEX REPLACE "^.*\\.([1-8])$" "\\1" section "${page}")
  install_text("${SCEP_SOURCE_DIR}/man/${page}" "${mandir}/man${section}/${page}")
endforeach()
