"""DICOM in the cloud: a local index of the data root's DICOM files, DICOMweb sources and destinations, DICOM SEG
and Secondary Capture export, a read-only DICOMweb service at ``/dicomweb`` and the viewer's DICOM browser."""
