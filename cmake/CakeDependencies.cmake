# Finds Cake's dependencies and defines cake_link_dependencies(target).
# Required: OpenBLAS (GEMM + LAPACK), OpenMP, nlohmann_json, zlib (gzip-compressed IDX files).
# Optional, each AUTO by default: oneDNN, CUDA, stb_image_write, MPI, NCCL.

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

# ---- OpenBLAS's OpenMP build, where it is installed ----
# Debian installs OpenBLAS's pthread and OpenMP builds side by side (libopenblas0-pthread,
# libopenblas0-openmp) and points the system's libopenblas.so.0 at one of them, the pthread build
# by default. That build keeps threads of its own that spin between calls, beside Cake's OpenMP
# threads on the same cores. The OpenMP build runs in Cake's one OpenMP pool, whose idle threads
# sleep (OMP_WAIT_POLICY); so where it is installed, libcake finds it first through its run path
# (NOTE [ BLAS inside parallel regions ] in tensor/blas.h; `cake --version` names the one loaded).
list(GET BLAS_LIBRARIES 0 _cake_blas_library)
get_filename_component(_cake_blas_dir "${_cake_blas_library}" REALPATH)
get_filename_component(_cake_blas_dir "${_cake_blas_dir}" DIRECTORY)
find_path(CAKE_OPENBLAS_OPENMP_DIR libopenblas.so.0
  PATHS ${_cake_blas_dir}/openblas-openmp ${_cake_blas_dir}/../openblas-openmp NO_DEFAULT_PATH)
if(CAKE_OPENBLAS_OPENMP_DIR)
  get_filename_component(CAKE_OPENBLAS_OPENMP_DIR "${CAKE_OPENBLAS_OPENMP_DIR}" REALPATH)
  set(_openblas_openmp_found TRUE)
else()
  set(_openblas_openmp_found FALSE)
endif()
cake_resolve_option(CAKE_WITH_OPENBLAS_OPENMP "${_openblas_openmp_found}" CAKE_HAVE_OPENBLAS_OPENMP)

# Gives target the run path to OpenBLAS's OpenMP build (a no-op without it). Every target that
# links OpenBLAS itself needs it: the loader takes the first libopenblas.so.0 it meets.
function(cake_prefer_openmp_blas target)
  if(CAKE_HAVE_OPENBLAS_OPENMP)
    set_property(TARGET ${target} APPEND PROPERTY BUILD_RPATH ${CAKE_OPENBLAS_OPENMP_DIR})
    set_property(TARGET ${target} APPEND PROPERTY INSTALL_RPATH ${CAKE_OPENBLAS_OPENMP_DIR})
  endif()
endfunction()

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
# The backend's sources live in cuda/backend/ (kernels in .cu files for nvcc, host glue in
# .cpp files for g++); cuda/*.cpp (the device-API seam, the caching allocator) build always.
# AUTO turns CUDA on whenever nvcc is found, so the release preset builds the backend on any
# machine with the toolkit, GPU or not (docs/cuda.md).
set(_cuda_found FALSE)
string(TOUPPER "${CAKE_WITH_CUDA}" _cuda_mode)
file(GLOB_RECURSE _cake_cu_sources ${PROJECT_SOURCE_DIR}/cuda/*.cu)
if(NOT _cake_cu_sources AND NOT _cuda_mode STREQUAL "ON")
  set(_cuda_mode OFF)  # this checkout has no CUDA backend sources
endif()
if(NOT _cuda_mode STREQUAL "OFF" AND NOT _cuda_mode STREQUAL "FALSE" AND NOT _cuda_mode STREQUAL "0")
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
  # sm_90 machine code for the H100/H200, compute_80 PTX that the driver JIT-compiles for any
  # newer or other Ampere+ GPU. Never "native": CI machines have no GPU to ask.
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES "90-real;80-virtual")
  endif()
  if(NOT DEFINED CMAKE_CUDA_HOST_COMPILER)
    set(CMAKE_CUDA_HOST_COMPILER ${CMAKE_CXX_COMPILER})
  endif()
  enable_language(CUDA)
  # CMake 3.25 knows no C++20 dialect for nvcc (CUDA20 came in 3.26 with the flag table for
  # CUDA 12); without these the generate step fails with "CUDA20 ... not known".
  set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CUDA_STANDARD 20)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  set(CMAKE_CUDA_EXTENSIONS OFF)
  # Debian 12's CMake 3.25.1 has a bug here: when the project requires CMake >= 3.25, its
  # FindCUDAToolkit marks the target CUDA::nvToolsExt deprecated without checking that it exists,
  # and CUDA 12+ ship no nvToolsExt library (only the nvtx3 headers), so configure fails with
  # "set_property could not find TARGET CUDA::nvToolsExt" (fixed in CMake 3.25.2). The module
  # reads the required version from this variable: it sees 3.24 while it runs.
  set(_cake_required_cmake ${CMAKE_MINIMUM_REQUIRED_VERSION})
  set(CMAKE_MINIMUM_REQUIRED_VERSION 3.24)
  find_package(CUDAToolkit REQUIRED)
  set(CMAKE_MINIMUM_REQUIRED_VERSION ${_cake_required_cmake})
  # cuDNN 9 ships beside the toolkit (/usr/local/cuda/lib) or in Debian's libcudnn9-dev.
  find_path(CAKE_CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS} ${CUDAToolkit_LIBRARY_ROOT}/include)
  find_library(CAKE_CUDNN_LIBRARY cudnn HINTS ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}/lib
               ${CUDAToolkit_LIBRARY_ROOT}/lib64)
  if(NOT CAKE_CUDNN_INCLUDE_DIR OR NOT CAKE_CUDNN_LIBRARY)
    message(FATAL_ERROR "Cake: the CUDA backend needs cuDNN 9 (cudnn.h, libcudnn.so) beside the toolkit; "
                        "install it or configure with -DCAKE_WITH_CUDA=OFF")
  endif()
  # cuSOLVER (linalg::eigh on CUDA) is part of the toolkit, but a trimmed toolkit may lack it.
  if(NOT CUDA_cusolver_LIBRARY)
    message(FATAL_ERROR "Cake: the CUDA backend needs cuSOLVER (libcusolver.so, part of the CUDA toolkit); "
                        "install it or configure with -DCAKE_WITH_CUDA=OFF")
  endif()
  message(STATUS "Cake: CUDA ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES}, "
                 "cuDNN ${CAKE_CUDNN_LIBRARY}")
endif()

# ---- libmvec (glibc >= 2.35 on x86-64): vector exp, log, tanh, ... for the CPU kernels ----
# tensor/cpu/vector_math.h declares them to GCC; this checks that the library links and has
# the 2.35 set (tanf is one of those), so that no build meets a missing vector variant.
include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_LIBRARIES mvec)
check_cxx_source_compiles([[
#include <cstdio>
#include <immintrin.h>
#if !defined(__x86_64__) || defined(__clang__) || !defined(__GLIBC__) || __GLIBC__ < 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ < 35)
#error "needs GCC on x86-64 with glibc 2.35 or later"
#endif
extern "C" __m128 _ZGVbN4v_tanf(__m128);
int main() { return _mm_cvtss_f32(_ZGVbN4v_tanf(_mm_set1_ps(0.5f))) > 0.0f ? 0 : 1; }
]] CAKE_LIBMVEC_LINKS)
unset(CMAKE_REQUIRED_LIBRARIES)
cake_resolve_option(CAKE_WITH_LIBMVEC "${CAKE_LIBMVEC_LINKS}" CAKE_HAVE_LIBMVEC)

# ---- MPI (Debian's libopenmpi-dev): the "mpi" backend of cake::distributed ----
# Only the C API is used; the deprecated C++ bindings (libmpi_cxx) are not wanted.
set(MPI_CXX_SKIP_MPICXX ON)
find_package(MPI QUIET COMPONENTS CXX)
cake_resolve_option(CAKE_WITH_MPI "${MPI_CXX_FOUND}" CAKE_HAVE_MPI)

# ---- NCCL (beside the CUDA toolkit): the "nccl" backend of cake::distributed ----
set(_nccl_found FALSE)
if(CAKE_HAVE_CUDA)
  find_path(CAKE_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  find_library(CAKE_NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR})
  if(CAKE_NCCL_INCLUDE_DIR AND CAKE_NCCL_LIBRARY)
    set(_nccl_found TRUE)
  endif()
endif()
cake_resolve_option(CAKE_WITH_NCCL "${_nccl_found}" CAKE_HAVE_NCCL)

# The process-group backends: each real one is an object library that alone sees its
# library's headers (so no other file's compile command changes, and no installed header
# needs <mpi.h> or <nccl.h>); without it, a stand-in that explains how to get it.
function(cake_add_distributed_backends target)
  set(_dir ${PROJECT_SOURCE_DIR}/distributed/backend)
  if(CAKE_HAVE_MPI)
    add_library(cake_mpi OBJECT ${_dir}/mpi_group.cpp)
    target_include_directories(cake_mpi PRIVATE ${PROJECT_BINARY_DIR}/include ${PROJECT_SOURCE_DIR}/include)
    target_link_libraries(cake_mpi PRIVATE MPI::MPI_CXX)
    set_target_properties(cake_mpi PROPERTIES POSITION_INDEPENDENT_CODE ON)
    cake_set_warnings(cake_mpi)
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:cake_mpi>)
    target_link_libraries(${target} PRIVATE MPI::MPI_CXX)
  else()
    target_sources(${target} PRIVATE ${_dir}/mpi_unavailable.cpp)
  endif()
  if(CAKE_HAVE_NCCL)
    add_library(cake_nccl OBJECT ${_dir}/nccl_group.cpp)
    target_include_directories(cake_nccl PRIVATE ${PROJECT_BINARY_DIR}/include ${PROJECT_SOURCE_DIR}/include
                               ${CUDAToolkit_INCLUDE_DIRS} ${CAKE_NCCL_INCLUDE_DIR})
    set_target_properties(cake_nccl PROPERTIES POSITION_INDEPENDENT_CODE ON)
    cake_set_warnings(cake_nccl)
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:cake_nccl>)
    target_link_libraries(${target} PRIVATE ${CAKE_NCCL_LIBRARY} ${CUDA_cudart_LIBRARY})
  else()
    target_sources(${target} PRIVATE ${_dir}/nccl_unavailable.cpp)
  endif()
endfunction()

# The CUDA backend as an object library folded into cake: only these files see the CUDA
# headers, so every other file's compile command is the same with and without CUDA.
function(cake_add_cuda_backend target)
  file(GLOB_RECURSE _backend_sources CONFIGURE_DEPENDS
    ${PROJECT_SOURCE_DIR}/cuda/backend/*.cu ${PROJECT_SOURCE_DIR}/cuda/backend/*.cpp)
  add_library(cake_cuda OBJECT ${_backend_sources})
  target_include_directories(cake_cuda PRIVATE ${PROJECT_BINARY_DIR}/include
                             ${CUDAToolkit_INCLUDE_DIRS} ${CAKE_CUDNN_INCLUDE_DIR})
  target_compile_definitions(cake_cuda PRIVATE CAKE_HAVE_CUDA=1 CAKE_VERSION="${PROJECT_VERSION}")
  target_compile_features(cake_cuda PRIVATE cxx_std_20)
  set_target_properties(cake_cuda PROPERTIES CUDA_SEPARABLE_COMPILATION OFF CUDA_STANDARD 20
                        CUDA_STANDARD_REQUIRED ON POSITION_INDEPENDENT_CODE ON)
  # 186: "pointless comparison of unsigned integer with zero", which nvcc reports inside the
  # shared generic functors (ops::Sign's x < 0 instantiated for uint8); g++ does not warn in
  # templates, and the comparison is the generic code's, not a bug.
  target_compile_options(cake_cuda PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr --extended-lambda -Xcompiler=-Wall,-Wextra
      -diag-suppress=186>)
  cake_set_warnings(cake_cuda)
  target_sources(${target} PRIVATE $<TARGET_OBJECTS:cake_cuda>)
  # cuSOLVER (linalg_cusolver.cpp) is a toolkit library like cuBLAS: FindCUDAToolkit's
  # CUDA_cusolver_LIBRARY, which loads cuBLAS, cuSPARSE and nvJitLink from the toolkit in turn.
  target_link_libraries(${target} PRIVATE ${CUDA_cudart_LIBRARY} ${CUDA_cublas_LIBRARY} ${CUDA_cublasLt_LIBRARY}
                        ${CUDA_cusolver_LIBRARY} ${CAKE_CUDNN_LIBRARY})
endfunction()

function(cake_link_dependencies target)
  # No public header includes <cblas.h> or <omp.h> (tensor/blas.h, tensor/parallel.h are the
  # seams), so a user's program needs neither OpenBLAS's headers nor -fopenmp.
  target_include_directories(${target} PRIVATE ${CAKE_CBLAS_INCLUDE_DIR})
  target_link_libraries(${target} PRIVATE BLAS::BLAS OpenMP::OpenMP_CXX Threads::Threads)
  cake_prefer_openmp_blas(${target})
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
    cake_add_cuda_backend(${target})
    target_compile_definitions(${target} PUBLIC CAKE_HAVE_CUDA=1)
  endif()
  if(CAKE_HAVE_LIBMVEC)  # the CPU kernels' vector maths (CMakeLists.txt, tensor/cpu/vector_math.h)
    target_link_libraries(${target} PRIVATE mvec)
  endif()
  cake_add_distributed_backends(${target})
endfunction()
