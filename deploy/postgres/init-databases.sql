-- One database per service's projections (run once, on the first start of an empty volume).
CREATE DATABASE cchc_dossier OWNER cchc;
CREATE DATABASE cchc_planning OWNER cchc;
CREATE DATABASE cchc_scoring OWNER cchc;
