# CPack settings for `cpack -G DEB`: the binary, default config, demo data, systemd unit and docs.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/edge.yaml DESTINATION /etc/edge)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/data/ DESTINATION share/edge/data
    PATTERN "var" EXCLUDE PATTERN "edge.yaml" EXCLUDE PATTERN "htpasswd" EXCLUDE)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/edge.service DESTINATION lib/systemd/system)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION share/doc/edge)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION share/doc/edge)

set(CPACK_PACKAGE_NAME edge)
set(CPACK_PACKAGE_VENDOR "edge maintainers")
set(CPACK_PACKAGE_CONTACT "edge maintainers <edge@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Download redirector and crash-report collector on libh2o")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, openssl")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles)
include(CPack)
