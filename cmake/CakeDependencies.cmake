# Finds Cake's dependencies and defines cake_link_dependencies(target).
# Required: OpenBLAS (GEMM + LAPACK), OpenMP, nlohmann_json, zlib (gzip-compressed IDX files).
# Optional, each AUTO by default: oneDNN, CUDA, stb_image_write.

# Resolves an AUTO|ON|OFF option: sets ${out} to TRUE/FALSE, fails when ON but not found.
function(cake_resolve_option name found out)
  string(TOUPPER "${${name}}" mode)
  if(mode STREQUAL "OFF" OR mode STREQUAL "FALSE" OR mode STREQUAL "0")
    set(${out} FALSE PARENT_SCOPE)
    message(STATUS "Cake: ${name}=OFF (disabled by option)")
  elseif(found)
    set(${out} TRUE PARENT_SCOPE)
    message(STATUS "Cake: ${name}: found, enabled")
  elseif(mode STREQUAL "ON" OR mode STREQUAL "TRUE" OR mode STREQUAL "1")
    message(FATAL_ERROR "Cake: ${name}=ON but it was not found")
  else()
    set(${out} FALSE PARENT_SCOPE)
    message(STATUS "Cake: ${name}: not found, building without it")
  endif()
endfunction()

# ---- OpenBLAS: cblas_?gemm and the LAPACK routines (declared by Cake itself) ----
find_path(CAKE_CBLAS_INCLUDE_DIR cblas.h
  PATHS /usr/include/x86_64-linux-gnu /usr/include/openblas /usr/include/aarch64-linux-gnu
  PATH_SUFFIXES openblas openblas-pthread)
# Through CMake's FindBLAS, so that the exported cake::cake names the imported target
# BLAS::BLAS (found again by the installed CakeConfig.cmake) rather than a library path of
# the machine that built Cake.
set(BLA_VENDOR OpenBLAS)
find_package(BLAS REQUIRED)
if(NOT CAKE_CBLAS_INCLUDE_DIR)
  message(FATAL_ERROR "Cake: cblas.h not found; install libopenblas-dev (tools/install-deps.sh)")
endif()
message(STATUS "Cake: OpenBLAS: ${BLAS_LIBRARIES}")

find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(Threads REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
# zlib reads the gzip-compressed MNIST/Fashion-MNIST files (data/idx.cpp); Debian's zlib1g-dev.
find_package(ZLIB REQUIRED)

# ---- oneDNN (Debian's libdnnl-dev, 2.x) ----
# Found by header and library rather than through dnnl-config.cmake: Debian's config insists on
# OpenCL development files (its GPU runtime), which Cake's CPU use never needs.
find_path(CAKE_DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp)
find_library(CAKE_DNNL_LIBRARY NAMES dnnl)
if(CAKE_DNNL_INCLUDE_DIR AND CAKE_DNNL_LIBRARY)
  set(_dnnl_found TRUE)
else()
  set(_dnnl_found FALSE)
endif()
cake_resolve_option(CAKE_WITH_ONEDNN "${_dnnl_found}" CAKE_HAVE_ONEDNN)

# ---- stb_image_write (header only; Debian's libstb-dev) ----
find_path(CAKE_STB_INCLUDE_DIR stb_image_write.h PATH_SUFFIXES stb)
if(CAKE_STB_INCLUDE_DIR)
  set(_stb_found TRUE)
else()
  set(_stb_found FALSE)
endif()
cake_resolve_option(CAKE_WITH_STB "${_stb_found}" CAKE_HAVE_STB)

# ---- CUDA toolkit ----
set(_cuda_found FALSE)
string(TOUPPER "${CAKE_WITH_CUDA}" _cuda_mode)
file(GLOB _cake_cu_sources ${PROJECT_SOURCE_DIR}/cuda/*.cu)
if(NOT _cake_cu_sources AND NOT _cuda_mode STREQUAL "ON")
  set(_cuda_mode OFF)  # this checkout has no CUDA backend sources
endif()
if(NOT _cuda_mode STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(_cuda_found TRUE)
  endif()
endif()
cake_resolve_option(CAKE_WITH_CUDA "${_cuda_found}" CAKE_HAVE_CUDA)
if(CAKE_HAVE_CUDA)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 80 90)
  endif()
  if(NOT DEFINED CMAKE_CUDA_HOST_COMPILER)
    set(CMAKE_CUDA_HOST_COMPILER ${CMAKE_CXX_COMPILER})
  endif()
  enable_language(CUDA)
  set(CMAKE_CUDA_STANDARD 20)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  find_package(CUDAToolkit REQUIRED)
endif()

function(cake_link_dependencies target)
  target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${CAKE_CBLAS_INCLUDE_DIR}>)
  target_link_libraries(${target} PUBLIC BLAS::BLAS OpenMP::OpenMP_CXX Threads::Threads)
  target_link_libraries(${target} PRIVATE nlohmann_json::nlohmann_json ZLIB::ZLIB)
  if(CAKE_HAVE_ONEDNN)
    target_include_directories(${target} PRIVATE ${CAKE_DNNL_INCLUDE_DIR})
    target_link_libraries(${target} PRIVATE ${CAKE_DNNL_LIBRARY})
    target_compile_definitions(${target} PUBLIC CAKE_HAVE_ONEDNN=1)
  endif()
  if(CAKE_HAVE_STB)
    target_include_directories(${target} PRIVATE ${CAKE_STB_INCLUDE_DIR})
    target_compile_definitions(${target} PUBLIC CAKE_HAVE_STB=1)
  endif()
  if(CAKE_HAVE_CUDA)
    file(GLOB_RECURSE _cu_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/cuda/*.cu)
    target_sources(${target} PRIVATE ${_cu_sources})
    target_compile_definitions(${target} PUBLIC CAKE_HAVE_CUDA=1)
    target_link_libraries(${target} PRIVATE CUDA::cudart CUDA::cublas CUDA::curand CUDA::cusolver)
    set_target_properties(${target} PROPERTIES CUDA_SEPARABLE_COMPILATION OFF)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr --extended-lambda>)
  endif()
endfunction()
