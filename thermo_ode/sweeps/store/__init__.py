"""Results on disk: a zarr store written chunk by chunk, read back through xarray. This
sub-package is the only code that knows the store's format (imports zarr, reads its
attributes); everything else asks it through the names below.

Layout: points are kept flat along `point` (C order over the sweep axes) so that every work
chunk owns whole zarr chunks. A chunk is committed by writing the SHA-256 of its data into
`chunk_checksum` after the data, so a killed run loses at most the chunks in flight, and
`verify` finds any committed chunk whose files were later lost, swapped or altered: a resumed
run recomputes exactly those. `open_results` gives the grid view, one dimension per swept key,
and `export_netcdf` writes it as one file. One writer at a time (`writer_lock`).

    layout   file names, format number, the variables and their dimensions, static arrays
    lock     the writer lock; what killed runs left aside
    write    create, open for a run, write and commit chunks, checksums, repair
    record   the record of the store's metadata, under its checksum; what the run did not write
    verify   `Verification`: metadata, chunks and coordinates against their checksums
    info     `RunInfo`: a run's identity and shape, from the store's attributes
    grid     the lazy grid view of the flat points
    read     `open_results`, `read_point`, per-point parameters, the committed rows
    netcdf   the one-file copy results.nc
"""

from .info import RunInfo as RunInfo
from .info import dataset_info as dataset_info
from .info import run_info as run_info
from .layout import LOCK_NAME as LOCK_NAME
from .layout import NETCDF_NAME as NETCDF_NAME
from .layout import PARAMETERS as PARAMETERS
from .layout import PARTIAL as PARTIAL
from .layout import REPLACED as REPLACED
from .layout import STORE_FORMAT as STORE_FORMAT
from .layout import STORE_NAME as STORE_NAME
from .layout import VARIABLES as VARIABLES
from .layout import ConfigMismatch as ConfigMismatch
from .layout import StoreBusy as StoreBusy
from .layout import StoreDamaged as StoreDamaged
from .layout import find_runs as find_runs
from .layout import store_path as store_path
from .layout import written_times as written_times
from .lock import writer as writer
from .lock import writer_lock as writer_lock
from .netcdf import export_netcdf as export_netcdf
from .netcdf import netcdf_current as netcdf_current
from .netcdf import netcdf_problem as netcdf_problem
from .netcdf import remove_netcdf as remove_netcdf
from .read import CommittedRows as CommittedRows
from .read import PointRecord as PointRecord
from .read import committed as committed
from .read import grid_view as grid_view
from .read import open_results as open_results
from .read import point_parameters as point_parameters
from .read import read_committed as read_committed
from .read import read_point as read_point
from .read import written_points as written_points
from .verify import Verification as Verification
from .verify import check as check
from .verify import committed_fraction as committed_fraction
from .verify import metadata_check as metadata_check
from .verify import verify as verify
from .write import open_for_run as open_for_run
from .write import open_writable as open_writable
from .write import other_run as other_run
from .write import record_machine as record_machine
from .write import repair as repair
from .write import uncommit as uncommit
from .write import write_chunk as write_chunk
