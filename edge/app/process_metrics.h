// SPDX-License-Identifier: MIT
/* process_metrics: registers edge_build_info and edge_process_* gauges. Main thread, once. */
#ifndef edge__edge_app_process_metrics_h
#define edge__edge_app_process_metrics_h

/** @return 0, or -1 on ENOMEM. */
int process_metrics_register(const char *version, const char *commit);

#endif
