# Runs the exposition dump and lints its output with `promtool check metrics`,
# which exits 1 on a parse error and 3 on a lint problem.
#
# Usage: cmake -DDUMP=<exposition_dump> -DPROMTOOL=<promtool> -DOUTPUT=<file>
#              -P check_exposition.cmake

if(NOT EXISTS "${PROMTOOL}")
    message(FATAL_ERROR "promtool not found at '${PROMTOOL}': run scripts/install-deps.sh --test")
endif()

execute_process(COMMAND "${DUMP}" OUTPUT_FILE "${OUTPUT}" RESULT_VARIABLE dump_status)
if(NOT dump_status EQUAL 0)
    message(FATAL_ERROR "${DUMP} failed with exit status ${dump_status}")
endif()

execute_process(
    COMMAND "${PROMTOOL}" check metrics
    INPUT_FILE "${OUTPUT}"
    RESULT_VARIABLE check_status
    OUTPUT_VARIABLE check_output
    ERROR_VARIABLE check_output)
if(NOT check_status EQUAL 0)
    message(FATAL_ERROR "promtool check metrics failed with exit status ${check_status} "
                        "on ${OUTPUT}:\n${check_output}")
endif()
message(STATUS "promtool check metrics passed on ${OUTPUT}")
