# The crash test's child program: a store under load that the test SIGKILLs at random points
# (tests/store/crash_test.cc). Included by tests/CMakeLists.txt after store_tests is defined.
add_executable(store_crash_child tools/crash_child.cc)
target_link_libraries(store_crash_child PRIVATE returns_writer returns_warnings)

if(TARGET store_tests)
  add_dependencies(store_tests store_crash_child)
  target_compile_definitions(store_tests PRIVATE
    RETURNS_CRASH_CHILD="$<TARGET_FILE:store_crash_child>")
endif()
