# The Debian package (`make package`, or `cmake --build <dir> --target package`): mixs, mixc,
# pilot-discovery, pilot-agent and meshctl in /usr/bin; the in-tree adapters in /usr/lib/mixer/adapters,
# where an installed mixs looks by default (<prefix>/bin/mixs finds <prefix>/lib/mixer/adapters);
# the adapter SDK (headers and its CMake package); an example configuration under /etc; hardened
# systemd units; the docs. docs/operations.md describes the layout.
include(GNUInstallDirs)

install(TARGETS mixs mixc pilot-discovery pilot-agent meshctl
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)

# Absolute destinations: a package's configuration and units live there whatever its prefix.
set(pkg ${PROJECT_SOURCE_DIR}/packaging)
install(FILES ${pkg}/etc/mixer/config/access-log.yaml ${pkg}/etc/mixer/config/denylist.yaml
              ${pkg}/etc/mixer/config/quota.yaml
  DESTINATION /etc/mixer/config COMPONENT config)
install(FILES ${PROJECT_SOURCE_DIR}/docs/examples/pilot/config/reviews.yaml
  DESTINATION /etc/pilot/config COMPONENT config)
install(FILES ${PROJECT_SOURCE_DIR}/docs/examples/pilot/registry/reviews.yaml
  DESTINATION /etc/pilot/registry COMPONENT config)
install(FILES ${pkg}/etc/default/mixs ${pkg}/etc/default/pilot-discovery
  DESTINATION /etc/default COMPONENT config)
install(FILES ${pkg}/systemd/mixs.service ${pkg}/systemd/pilot-discovery.service
  DESTINATION /lib/systemd/system COMPONENT config)

set(MIXER_PACKAGE_NAME mixer-engine)
file(GLOB mixer_docs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${mixer_docs} ${PROJECT_SOURCE_DIR}/README.md
  DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${MIXER_PACKAGE_NAME} COMPONENT docs)

# Every file under /etc is a conffile: an upgrade keeps the operator's edits.
set(conffiles
  /etc/mixer/config/access-log.yaml /etc/mixer/config/denylist.yaml /etc/mixer/config/quota.yaml
  /etc/pilot/config/reviews.yaml /etc/pilot/registry/reviews.yaml
  /etc/default/mixs /etc/default/pilot-discovery)
list(JOIN conffiles "\n" conffiles)
file(WRITE ${CMAKE_BINARY_DIR}/packaging/conffiles "${conffiles}\n")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ${MIXER_PACKAGE_NAME})
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "mixer-engine")
set(CPACK_PACKAGE_CONTACT "mixer-engine maintainers <mixer-engine@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "Istio Mixer re-implemented in C++: mixs, mixc, pilot-discovery and adapters")
# CPack indents the lines of the long description (the summary above is its first line).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "mixs serves Istio's Mixer API (Check, Report, quota) with adapters loaded as shared objects;
mixc is its command-line client; pilot-discovery serves xDS and issues workload certificates.
The package carries the in-tree adapters, the adapter SDK (headers and CMake package),
an example configuration in /etc/mixer/config and systemd units.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # dependencies from the binaries' shared libraries
set(CPACK_STRIP_FILES ON)  # debug info stays in the build tree
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_BINARY_DIR}/packaging/conffiles
  ${pkg}/debian/postinst ${pkg}/debian/prerm ${pkg}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# One package of these components (other install rules of the tree stay out of it).
set(CPACK_COMPONENTS_ALL runtime adapters sdk config docs)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
include(CPack)
