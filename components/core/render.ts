/**
 * What every rendered file shares. Pure, no Pulumi import.
 */

/** The first line of every file conntune renders (where the format has comments). */
export const HEADER = "# Managed by conntune: changes made here are overwritten by the next `pulumi up`.";
