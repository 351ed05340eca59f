# Installs the library, its headers under include/cake/, and a CMake package so that
#   find_package(Cake REQUIRED)
#   target_link_libraries(app PRIVATE cake::cake)
# works from another project.
include(CMakePackageConfigHelpers)

# The installed library keeps the run path to the folders of the libraries it was linked
# against outside the system's (/usr/local/cuda/lib for CUDA, cuDNN and NCCL): not every machine
# lists them in ld.so.conf, and without it a program that links the installed Cake fails at
# link time ("undefined reference to cudaGetDevice@libcudart.so.13") and at run time.
set_property(TARGET cake PROPERTY INSTALL_RPATH_USE_LINK_PATH TRUE)

install(TARGETS cake EXPORT CakeTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/cake/cake.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cake)
# algorithms/detail/ holds the library's internal helpers (with OpenMP pragmas); no public
# header includes it, so it is not installed.
foreach(layer tensor autograd nn optim data algorithms distributed cuda)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${layer} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cake
    FILES_MATCHING PATTERN "*.h" PATTERN "detail" EXCLUDE)
endforeach()

install(EXPORT CakeTargets NAMESPACE cake:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Cake)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/CakeConfig.cmake.in
  ${PROJECT_BINARY_DIR}/CakeConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Cake)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/CakeConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/CakeConfig.cmake ${PROJECT_BINARY_DIR}/CakeConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Cake)
